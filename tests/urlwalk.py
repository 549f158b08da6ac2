"""Walk the whole URLconf and build a concrete, resolvable path for every pattern.

Tests that must hold for *every* URL (the half-signed-in redirect, the
step-up gate on sensitive views, the two-factor policy) use this, so a URL
added by a later issue is covered without touching the tests.

Path converters get fixed dummy values (int -> 1, str/slug/path -> "x",
uuid -> a fixed UUID); regex patterns (the Django admin has a few) get the
first string their regex matches, preferring "1" for digits and "x" for
letters.
"""
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.exceptions import Resolver404
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

try:  # Python 3.11+: the parser moved; sre_parse is a deprecated alias.
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants
    import sre_parse

DUMMY_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


@dataclass(frozen=True)
class WalkedURL:
    """One leaf pattern of the URLconf, with a path that resolves to it."""

    path: str
    name: str | None  # fully namespaced, e.g. "mfa:default_method"; None when unnamed
    namespaces: tuple[str, ...]
    callback: Callable
    route: str  # the pattern text, for messages

    @property
    def view_class(self):
        return getattr(self.callback, "view_class", None)

    def label(self) -> str:
        return f"{self.name or '<unnamed>'} ({self.route} -> {self.path})"


class UnsupportedPattern(ValueError):
    """A regex this walker cannot produce a sample string for."""


def walk(urlconf=None) -> list[WalkedURL]:
    """Return every leaf pattern of the URLconf with a sample path (unverified)."""
    return list(_walk(get_resolver(urlconf), "", (), ""))


def _walk(resolver: URLResolver, prefix: str, namespaces: tuple[str, ...], route: str) -> Iterator[WalkedURL]:
    for pattern in resolver.url_patterns:
        segment = sample_segment(pattern.pattern)
        text = route + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespaces + ((pattern.namespace,) if pattern.namespace else ())
            yield from _walk(pattern, prefix + segment, inner, text)
        elif isinstance(pattern, URLPattern):
            name = ":".join(namespaces + (pattern.name,)) if pattern.name else None
            yield WalkedURL("/" + prefix + segment, name, namespaces, pattern.callback, text)


def resolvable(urls: list[WalkedURL], urlconf=None) -> tuple[list[WalkedURL], list[str]]:
    """Split into the URLs whose sample path resolves to their own view, and the others."""
    ok, problems = [], []
    for url in urls:
        try:
            match = resolve(url.path, urlconf)
        except Resolver404:
            problems.append(f"{url.label()}: the sample path does not resolve")
            continue
        if match.func is url.callback or url.name is None or match.view_name == url.name:
            ok.append(url)
        else:
            problems.append(f"{url.label()}: resolves to {match.view_name} instead (shadowed?)")
    return ok, problems


def sample_segment(pattern) -> str:
    """Return a string the pattern matches, with dummy values for its parameters."""
    if isinstance(pattern, LocalePrefixPattern):
        return pattern.language_prefix
    if isinstance(pattern, RoutePattern):
        return _sample_route(pattern)
    if isinstance(pattern, RegexPattern):
        return sample_regex(pattern.regex.pattern)
    raise UnsupportedPattern(f"Unknown pattern type {type(pattern).__name__}")


def _sample_route(pattern: RoutePattern) -> str:
    def value(match: re.Match) -> str:
        converter = pattern.converters[match["parameter"]]
        if isinstance(converter, IntConverter):
            return "1"
        if isinstance(converter, UUIDConverter):
            return str(DUMMY_UUID)
        # str, slug, path: "x" fits them all; a custom converter must accept
        # a sample of its own regex.
        candidate = "x"
        if re.fullmatch(converter.regex, candidate):
            return candidate
        return sample_regex(converter.regex)

    return _ROUTE_PARAMETER.sub(value, str(pattern._route))


def sample_regex(regex: str) -> str:
    """Return the first simple string the regex matches (raises UnsupportedPattern)."""
    sample = _sample(sre_parse.parse(regex))
    if not re.match(regex, sample):
        raise UnsupportedPattern(f"Could not build a sample for {regex!r} (got {sample!r})")
    return sample


_CATEGORY_SAMPLES = {
    sre_constants.CATEGORY_DIGIT: "1",
    sre_constants.CATEGORY_NOT_DIGIT: "x",
    sre_constants.CATEGORY_WORD: "x",
    sre_constants.CATEGORY_NOT_WORD: "-",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_SPACE: "x",
}
_PREFERRED_CHARS = "1xa-_0zX"


def _sample(parsed) -> str:
    out = []
    for op, av in parsed:
        if op is sre_constants.LITERAL:
            out.append(chr(av))
        elif op is sre_constants.NOT_LITERAL:
            out.append("x" if chr(av) != "x" else "y")
        elif op is sre_constants.ANY:
            out.append("x")
        elif op is sre_constants.IN:
            out.append(_sample_in(av))
        elif op is sre_constants.BRANCH:
            out.append(_sample(av[1][0]))
        elif op is sre_constants.SUBPATTERN:
            out.append(_sample(av[-1]))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None)):
            low, high, item = av
            count = max(low, 1) if high != 0 else 0
            out.append(_sample(item) * count)
        elif op is sre_constants.AT:
            continue
        else:
            raise UnsupportedPattern(f"Unsupported regex construct {op}")
    return "".join(out)


def _in_matches(items, char: str) -> bool:
    code = ord(char)
    for op, av in items:
        if op is sre_constants.LITERAL and av == code:
            return True
        if op is sre_constants.RANGE and av[0] <= code <= av[1]:
            return True
        if op is sre_constants.CATEGORY and re.fullmatch(_category_regex(av), char):
            return True
    return False


def _category_regex(category) -> str:
    return {
        sre_constants.CATEGORY_DIGIT: r"\d", sre_constants.CATEGORY_NOT_DIGIT: r"\D",
        sre_constants.CATEGORY_WORD: r"\w", sre_constants.CATEGORY_NOT_WORD: r"\W",
        sre_constants.CATEGORY_SPACE: r"\s", sre_constants.CATEGORY_NOT_SPACE: r"\S",
    }[category]


def _sample_in(items) -> str:
    if items and items[0][0] is sre_constants.NEGATE:
        rest = items[1:]
        for char in _PREFERRED_CHARS:
            if not _in_matches(rest, char):
                return char
        raise UnsupportedPattern("Negated character set excludes every sample character")
    for char in _PREFERRED_CHARS:
        if _in_matches(items, char):
            return char
    op, av = items[0]
    if op is sre_constants.LITERAL:
        return chr(av)
    if op is sre_constants.RANGE:
        return chr(av[0])
    if op is sre_constants.CATEGORY:
        return _CATEGORY_SAMPLES[av]
    raise UnsupportedPattern(f"Unsupported character set item {op}")
