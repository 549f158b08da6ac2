"""Trusted browsers: "Don't ask for a code on this browser for 30 days".

Trust lives on the server, one TrustedBrowser row per browser. The cookie
holds a random token (``secrets.token_urlsafe(32)``); the row keeps only its
SHA-256, so a database dump cannot be replayed as a cookie. The row is bound
to a fingerprint (an HMAC over the password hash, the session stamp and the
identities of the user's active second-factor devices, as allauth binds its
trust): a password change or reset, an administrator's reset (the stamp
rotates) and any method added, removed or reconfigured end the trust at once.

Trust skips sign-in step 2 only, and only after the right password: a stolen
cookie alone gets nothing, and a session it opens still asks for the second
factor at step-up (``complete_sign_in`` is given no device).
"""
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_otp
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts import audit, signin
from accounts.app_settings import app_settings
from accounts.client import client_ip, describe_browser, user_agent
from accounts.models import TrustedBrowser, User
from ctm_auth import clock
from ctm_auth.prepared import prepared
from mfa import policy
from mfa.registry import active_devices_of, active_methods, default_method

# Audit event types (stable codes; the Security Log filters on them).
BROWSER_TRUSTED = "trusted_browser.created"
BROWSER_USED = "trusted_browser.used"
BROWSER_REVOKED = "trusted_browser.revoked"

# The sign-in method the audit log and the session record show for a skipped step 2.
SIGN_IN_METHOD = "trusted_browser"

FINGERPRINT_SALT = "accounts.trusted_browsers.fingerprint"


def trust_period_for(user: User) -> timedelta | None:
    """Return how long a browser ``user`` trusts stays trusted; None when trust is off.

    The one place the period is decided: the app's default
    (ACCOUNTS_TRUSTED_BROWSER_DAYS), cut to the user's agencies' longest
    period (the strictest wins; 0 when an Owner turned trust off). A period
    shortened later also cuts trust given before, which is honoured only
    while younger (``_honoured``), so the change takes effect at once.
    """
    days = app_settings.TRUSTED_BROWSER_DAYS
    agency_days = policy.requirement(user).trusted_browser_days
    if agency_days is not None:
        days = min(days, agency_days)
    return timedelta(days=days) if days else None


def cookie_name() -> str:
    """Return the cookie's name: ``__Host-`` pinned to this host and HTTPS in production.

    Browsers refuse a ``__Host-`` cookie without Secure, so over plain HTTP
    (development, tests) the plain name is used.
    """
    name = app_settings.TRUSTED_BROWSER_COOKIE_NAME
    return f"__Host-{name}" if settings.SESSION_COOKIE_SECURE else name


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(user: User) -> str:
    """Return an HMAC of what trust depends on: password hash, session stamp, active devices."""
    identities = sorted(
        method.device_identity(device)
        for method in active_methods(user)
        for device in active_devices_of(user, method)
    )
    material = "|".join([str(user.pk), user.password, user.session_stamp, *identities])
    return salted_hmac(FINGERPRINT_SALT, material, algorithm="sha256").hexdigest()


def _honoured(user: User) -> QuerySet[TrustedBrowser] | None:
    """Return the user's rows that may still be honoured (fingerprint aside); None when trust is off."""
    period = trust_period_for(user)
    if period is None:
        return None
    now = clock.now()
    return _honoured_rows.build(user.pk, now, now - period)


@prepared  # the Profile lists them on every visit
def _honoured_rows(user_id: int, now: datetime, trusted_since: datetime) -> QuerySet[TrustedBrowser]:
    return TrustedBrowser.objects.filter(user_id=user_id, revoked_at=None, expires_at__gt=now,
                                         created_at__gt=trusted_since)


# -- trusting, at sign-in step 2 ----------------------------------------------

def trust_browser(request: HttpRequest, response: HttpResponse, *, user: User) -> TrustedBrowser | None:
    """Trust this browser for ``user`` (the box at step 2, just answered); None when trust is off.

    Any trust this browser's cookie held before, for this user or another,
    is revoked ("replaced"): one row per browser, and the cookie names one.
    """
    period = trust_period_for(user)
    if period is None:
        return None
    token, now = secrets.token_urlsafe(32), clock.now()
    with transaction.atomic():
        _revoke_replaced(request)
        browser = TrustedBrowser(
            user=user, token_hash=_token_hash(token), fingerprint=fingerprint(user),
            label=describe_browser(user_agent(request))[:100], ip_address=client_ip(request),
            created_at=now, expires_at=now + period,
        )
        browser.full_clean(exclude=["user"])
        browser.save()
        audit.record(request, BROWSER_TRUSTED, actor=user, data={
            "browser_id": browser.pk, "label": browser.label, "expires_at": browser.expires_at.isoformat()})
    response.set_cookie(cookie_name(), token, max_age=int(period.total_seconds()), path="/",
                        httponly=True, secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
    return browser


def _revoke_replaced(request: HttpRequest) -> None:
    raw = request.COOKIES.get(cookie_name())
    if not raw:
        return
    replaced = TrustedBrowser.objects.filter(token_hash=_token_hash(raw), revoked_at=None).first()
    if replaced is not None:
        _revoke(request, TrustedBrowser.objects.filter(pk=replaced.pk), user=replaced.user, reason="replaced")


# -- honouring, at sign-in step 1 ----------------------------------------------

def sign_in_if_trusted(request: HttpRequest, user: User) -> bool:
    """Complete the sign-in without step 2 when this browser is trusted by ``user``; call only after the password.

    The session is signed in with no device, so step-up still asks for a
    code; then django-otp is given the device step 2 would have asked for
    first, so ``is_verified()`` holds for ``otp_required`` views, as it
    would have after step 2.
    """
    browser = _valid_browser(request, user)
    # The device step 2 would ask for: among the methods the policy allows.
    method = default_method(user, policy.challenge_methods(user)) if browser is not None else None
    device = method.active_devices(user).first() if method is not None else None
    if device is None:
        return False
    signin.complete_sign_in(request, user, method_key=SIGN_IN_METHOD)
    django_otp.login(request, device)
    TrustedBrowser.objects.filter(pk=browser.pk).update(last_used_at=clock.now(), ip_address=client_ip(request))
    audit.record(request, BROWSER_USED, actor=user, method=SIGN_IN_METHOD,
                 data={"browser_id": browser.pk, "label": browser.label})
    return True


def _valid_browser(request: HttpRequest, user: User) -> TrustedBrowser | None:
    """Return the row this browser's cookie names for ``user``, if it is still honoured.

    The lookup is by the token's hash and the user, so another account's
    token, a guessed one or a revoked one finds nothing. A row whose
    fingerprint no longer matches is revoked for good: what it was bound to
    (a password, a stamp, a device) never comes back.
    """
    raw = request.COOKIES.get(cookie_name(), "")
    rows = _honoured(user)
    if not raw or len(raw) > 128 or rows is None:
        return None
    browser = rows.filter(token_hash=_token_hash(raw)).first()
    if browser is None:
        return None
    if not constant_time_compare(browser.fingerprint, fingerprint(user)):
        _revoke(request, TrustedBrowser.objects.filter(pk=browser.pk), user=user, reason="security_change")
        return None
    return browser


# -- the Profile's list, and revoking -----------------------------------------

@dataclass(frozen=True)
class BrowserRow:
    """One line of the Profile's Trusted browsers."""

    id: int
    label: str
    ip_address: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime  # the earlier of the row's own expiry and today's period
    is_this_browser: bool


def trusted_browser_rows(user: User, *, current_token: str = "") -> list[BrowserRow]:
    """Return the browsers that would skip step 2 for ``user`` now, newest first."""
    period = trust_period_for(user)
    if period is None:
        return []
    now = clock.now()
    rows = list(_honoured_rows(user.pk, now, now - period))
    if not rows:  # most users: no fingerprint to work out
        return []
    current, this_hash = fingerprint(user), _token_hash(current_token) if current_token else ""
    return [
        BrowserRow(
            id=row.pk, label=row.label, ip_address=row.ip_address or "", created_at=row.created_at,
            last_used_at=row.last_used_at, expires_at=min(row.expires_at, row.created_at + period),
            is_this_browser=bool(this_hash) and constant_time_compare(row.token_hash, this_hash),
        )
        for row in rows if constant_time_compare(row.fingerprint, current)
    ]


def trusted_browser_row(user: User, *, browser_id: int) -> BrowserRow | None:
    """Return one of ``user``'s listed browsers, or None (another user's, revoked, expired)."""
    return next((row for row in trusted_browser_rows(user) if row.id == browser_id), None)


def revoke(request: HttpRequest, *, user: User, browser_id: int) -> bool:
    """Revoke one of ``user``'s trusted browsers; False when it is not theirs or already gone."""
    rows = TrustedBrowser.objects.filter(pk=browser_id, user=user, revoked_at=None)
    return bool(_revoke(request, rows, user=user, reason="user"))


def revoke_all(request: HttpRequest, *, user: User, reason: str = "user", actor: User | None = None) -> int:
    """Revoke every trusted browser of ``user`` ("Revoke all", a password reset); return how many."""
    rows = TrustedBrowser.objects.filter(user=user, revoked_at=None)
    return _revoke(request, rows, user=user, reason=reason, actor=actor)


def revoke_all_for(request: HttpRequest | None, *, user: User, actor: User, agency=None,
                   reason: str = "admin_reset") -> int:
    """Revoke every trusted browser of ``user`` on an administrator's behalf; return how many.

    A reset already changes the fingerprint, so the rows would stop
    matching; revoking them as well takes them off the member's Profile
    list for good and records who ended the trust, in the agency's log.
    """
    rows = TrustedBrowser.objects.filter(user=user, revoked_at=None)
    return _revoke(request, rows, user=user, reason=reason, actor=actor, agency=agency)


def _revoke(request: HttpRequest | None, rows: QuerySet[TrustedBrowser], *, user: User, reason: str,
            actor: User | None = None, agency=None) -> int:
    """Mark ``rows`` revoked and audit it once (``actor`` defaults to the signed-in user).

    The UPDATE is conditional on the row not being revoked yet, so a double
    click or two tabs count, and audit, once.
    """
    ids = list(rows.values_list("pk", flat=True))
    revoked = TrustedBrowser.objects.filter(pk__in=ids, revoked_at=None).update(
        revoked_at=clock.now(), revoked_reason=reason)
    if revoked:
        audit.record(request, BROWSER_REVOKED, actor=actor, target=user, agency=agency,
                     data={"browser_ids": ids, "reason": reason, "count": revoked})
    return revoked


def trust_days(user: User) -> int:
    """Return the period in whole days for the step-2 box ("for 30 days"); 0 when trust is off."""
    period = trust_period_for(user)
    return math.ceil(period / timedelta(days=1)) if period else 0
