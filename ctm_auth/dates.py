"""The one way dates and times are shown to people: in their time zone, with the zone named.

Pages, emails, texts and messages all go through ``format_when`` (a moment:
"2 Dec 2026, 12:29 UTC") or ``format_day`` (a day: "2 Dec 2026"), or their
template filters ``|when`` and ``|day`` (accounts/templatetags/when.py, a
template builtin). The formats are the active language's DATE_FORMAT and
DATETIME_FORMAT (ctm_auth/formats), the zone the active one: the reader's,
set per request by accounts.middleware.PreferencesMiddleware and per email
by accounts.preferences.recipient.

Machine-readable output (CSV exports, <time datetime>, audit data) stays ISO
8601 and is not formatted here.
"""
from datetime import date, datetime

from django.utils import formats, timezone


def zone_label(moment: datetime) -> str:
    """Return the zone's abbreviation at ``moment`` ("UTC", "EST", "CEST"), or "UTC-05" where it has none."""
    name = moment.tzname() or ""
    return f"UTC{name}" if name[:1] in ("+", "-") else name


def format_when(value: datetime | None) -> str:
    """Return ``value`` as date and time in the active time zone and language, zone named; "" for None."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return format_day(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    shown = formats.date_format(value, "DATETIME_FORMAT")
    label = zone_label(value)
    return f"{shown} {label}" if label else shown


def format_day(value: date | datetime | None) -> str:
    """Return the day of ``value`` (a date, or an instant read in the active time zone); "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT")
