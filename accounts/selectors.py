"""Read-only queries for the accounts pages."""
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from accounts import audit, audit_events
from accounts.app_settings import app_settings
from accounts.client import describe_browser
from accounts.models import AuditEvent
from ctm_auth.prepared import prepared
from mfa import policy
from mfa.registry import all_methods, default_method, get_method


@dataclass(frozen=True)
class MethodRow:
    """One line of the Profile's Multi-Factor Methods section."""

    key: str
    label: str
    is_active: bool
    in_use: bool  # the green circle: the method step 2 will offer first
    is_primary: bool
    detail: str
    manage_url: str
    warning: str = ""  # what the user should still do, e.g. "No backup codes: you could be locked out"
    #: False when the user's agency does not allow it ("Not allowed by your agency"): no Add,
    #: though a method already set up keeps its Edit and Disable.
    allowed: bool = True

    @property
    def can_manage(self) -> bool:
        """Whether the row shows its Add/Edit button."""
        return bool(self.manage_url) and (self.allowed or self.is_active)


def profile_methods(user) -> list[MethodRow]:
    """The Multi-Factor Methods table: every method the user sets up, with the policy's verdict.

    The policy is read once (agencies.policy.requirement_for, cached), however
    many methods there are.
    """
    methods = all_methods()
    requirement = policy.requirement(user)
    active = [m for m in methods if m.is_active_for(user)]
    in_use = default_method(user, [m for m in active if requirement.allows(m)])
    rows = []
    for method in methods:
        if not method.listed_on_profile:
            continue
        allowed = requirement.allows(method)
        rows.append(MethodRow(
            key=method.key,
            label=method.label,
            is_active=method in active,
            in_use=method is in_use,
            is_primary=method.is_primary,
            detail=method.status_detail(user) if method in active else "",
            manage_url=reverse(method.manage_url_name) if method.manage_url_name else "",
            # A nudge to set up what the agency refuses would only mislead.
            warning=method.status_warning(user) if allowed else "",
            allowed=allowed,
        ))
    return rows


@dataclass(frozen=True)
class Recommendation:
    """The method "Set up two-factor authentication" marks "Recommended", among those it offers."""

    key: str = ""
    #: Recommended instead when this browser cannot use ``key`` (a passkey without
    #: WebAuthn): the page holds it hidden and mfa/webauthn/webauthn.js reveals it.
    fallback_key: str = ""


def recommended_set_up(rows: list[MethodRow]) -> Recommendation:
    """Recommend a passkey (phishing-resistant) when offered, else an app (no cost per code), else the first.

    ``rows`` are the methods the agency allows, so a refused method is never recommended.
    """
    methods = [method for method in (get_method(row.key) for row in rows) if method is not None]
    app = next((m for m in methods if not m.phishing_resistant and not m.costs_per_challenge),
               next((m for m in methods if not m.phishing_resistant), None))
    passkey = next((m for m in methods if m.phishing_resistant), None)
    if passkey is not None:
        return Recommendation(key=passkey.key, fallback_key=app.key if app is not None else "")
    return Recommendation(key=app.key if app is not None else "")


def _method_label(key: str) -> str:
    """The method a sign-in used in words ("Passkeys and security keys", "Password", "Trusted browser")."""
    return audit_events.method_name(key)


@dataclass(frozen=True)
class ActivityRow:
    when: object
    succeeded: bool
    event_type: str
    method: str
    ip_address: str
    browser: str


@prepared  # the Profile lists them on every visit
def _sign_in_events(user_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_user_id=user_id, event_type__in=audit.SIGN_IN_EVENTS
    ).only("created_at", "event_type", "method", "ip_address", "user_agent")[: app_settings.SIGN_IN_ACTIVITY_LIMIT]


def recent_sign_in_activity(user) -> list[ActivityRow]:
    """Return the user's latest sign-in attempts, newest first."""
    events = _sign_in_events(user.pk)
    return [
        ActivityRow(
            when=event.created_at,
            succeeded=event.event_type == audit.SIGN_IN_SUCCEEDED,
            event_type=event.event_type,
            method=_method_label(event.method),
            ip_address=event.ip_address or "",
            browser=describe_browser(event.user_agent),
        )
        for event in events
    ]
