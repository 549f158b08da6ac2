"""The language and time zone a person reads in: their own, else their agency's zone, else the site's.

Pages follow them through accounts.middleware.PreferencesMiddleware; emails
and texts, written for someone other than whoever made the request (an
administrator, the outbox worker), through ``recipient``.
"""
import functools
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from accounts.app_settings import app_settings


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (the Profile's choices)."""
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    return name in time_zone_names()


def is_language(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def agency_time_zone(user) -> str:
    """Return the zone of the user's agency ("" without one), from ACCOUNTS_AGENCY_TIME_ZONE.

    A dotted path, so this base app asks the agencies app without importing it.
    """
    path = app_settings.AGENCY_TIME_ZONE
    if not path or getattr(user, "pk", None) is None:
        return ""
    return import_string(path)(user)


def time_zone_for(user, *, fallback: str | None = None) -> str:
    """Return the user's zone, else ``fallback`` or their agency's, else TIME_ZONE; always a known name."""
    for name in (user.time_zone, fallback if fallback is not None else agency_time_zone(user)):
        if name and is_time_zone(name):
            return name
    return settings.TIME_ZONE


def language_for(user) -> str:
    """Return the language to write to the user in: their choice, else LANGUAGE_CODE.

    Outside a request there is no browser to ask, so a blank choice means the site's language.
    """
    return user.language if is_language(user.language) else settings.LANGUAGE_CODE


@contextmanager
def recipient(user, *, time_zone: str | None = None) -> Iterator[None]:
    """Render inside this block in ``user``'s language and time zone (``time_zone`` replaces the agency's)."""
    with translation.override(language_for(user)), timezone.override(time_zone_for(user, fallback=time_zone)):
        yield
