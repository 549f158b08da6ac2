"""Read-only queries for the Text Messages pages."""
from dataclasses import dataclass

from django.utils.translation.trans_real import parse_accept_lang_header

from accounts.app_settings import app_settings as accounts_settings
from accounts.client import describe_browser
from accounts.models import AuditEvent
from agencies.models import Membership
from mfa.sms.delivery import SENT
from mfa.sms.models import Purpose
from mfa.sms.phone import resolve_region


@dataclass(frozen=True)
class TextSentRow:
    when: object
    to: str  # masked: "+1 •••-•••-1234"
    purpose: str
    ip_address: str
    browser: str


def texts_sent(user, limit: int | None = None) -> list[TextSentRow]:
    """Return the latest texts sent to ``user``, newest first, from the audit log."""
    limit = limit or accounts_settings.SIGN_IN_ACTIVITY_LIMIT
    events = AuditEvent.objects.filter(target_user=user, event_type=SENT).only(
        "created_at", "data", "ip_address", "user_agent"
    )[:limit]
    labels = dict(Purpose.choices)
    return [
        TextSentRow(
            when=event.created_at,
            to=str(event.data.get("to", "")),
            purpose=str(labels.get(event.data.get("purpose"), "")),
            ip_address=event.ip_address or "",
            browser=describe_browser(event.user_agent),
        )
        for event in events
    ]


def default_region(request) -> str:
    """Return the country preselected beside the mobile number (ISO 3166 alpha-2).

    In order: the country of the user's agency, then the region of the
    user's language ("es-MX": MX), then the United States. A member of several
    agencies gets the country of one that requires two-factor (the policy
    that makes them set a number up), else of the agency they joined first.
    """
    return resolve_region(_agency_country(request.user), *_language_regions(request))


def _agency_country(user) -> str:
    if getattr(user, "pk", None) is None:
        return ""
    membership = (
        Membership.objects.filter(user_id=user.pk)
        .order_by("-agency__require_two_factor", "pk").values_list("agency__country", flat=True).first()
    )
    return membership or ""


def _language_regions(request) -> list[str]:
    """Regions named by the user's language, the active one, then the browser's (Accept-Language)."""
    languages = [getattr(request.user, "language", ""), getattr(request, "LANGUAGE_CODE", "")]
    languages += [language for language, _quality in parse_accept_lang_header(
        request.META.get("HTTP_ACCEPT_LANGUAGE", ""))]
    return [region for region in (_region_of(language) for language in languages) if region]


def _region_of(language: str) -> str:
    """Return "MX" for "es-MX" or "es_MX"; "" for "es" or "es-419" (a continent, not a country)."""
    parts = (language or "").replace("_", "-").split("-")
    region = parts[-1] if len(parts) > 1 else ""
    return region.upper() if len(region) == 2 and region.isalpha() else ""
