"""Facts about the client behind a request."""
import ipaddress

from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.app_settings import app_settings


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's IP address, trusting only our own proxies' X-Forwarded-For.

    Each trusted proxy appends the address it saw; the client is the entry
    that many places from the right. Anything left of it is client-supplied
    and could be forged, so it is never used.
    """
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = app_settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def rate_limit_network(request: HttpRequest) -> str:
    """Return the client's address as per-IP limits should count it.

    One IPv6 host usually holds a whole /64 and can rotate through it freely,
    so IPv6 clients are counted per /64; IPv4 clients per address.
    """
    ip = client_ip(request)
    if ip is None:
        return "unknown"
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return ip
    if address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:512]


def describe_browser(user_agent_string: str) -> str:
    """Return a short "Browser on OS" label for a User-Agent, for activity lists.

    In the active language; a stored label (a trusted browser's) keeps the words it was written in.
    """
    ua = user_agent_string or ""
    browser = next(
        (label for token, label in (
            ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
            ("HeadlessChrome/", _("Chrome (headless)")), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"), ("curl/", "curl"),
        ) if token in ua),
        _("Unknown browser"),
    )
    system = next(
        (label for token, label in (
            ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"),
        ) if token in ua),
        "",
    )
    return _("%(browser)s on %(system)s") % {"browser": browser, "system": system} if system else browser
