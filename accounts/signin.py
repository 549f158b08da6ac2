"""Sign-in in two steps: the password, then (if the user has one) a second factor.

Between the steps the session holds only a "pending" marker: the user is not
signed in, ``request.user`` stays anonymous, and mfa.middleware sends every
URL but step 2 and sign-out back to step 2.
"""
import secrets
from dataclasses import dataclass

import django_otp
from django.contrib.auth import authenticate, get_user_model, login
from django.http import HttpRequest

from accounts import audit
from accounts.app_settings import app_settings
from accounts.client import client_ip
from accounts.models import User, normalize_email_address
from accounts.ratelimit import Limit
from ctm_auth import clock
from mfa.app_settings import app_settings as mfa_settings
from mfa.registry import active_methods

PENDING_SESSION_KEY = "signin_pending"
AUTH_STARTED_SESSION_KEY = "auth_started_at"
LAST_ACTIVITY_SESSION_KEY = "last_activity_at"


def account_failure_limit() -> Limit:
    failures, window = app_settings.LOGIN_FAILURES_PER_ACCOUNT
    return Limit("signin-account", failures, window)


def ip_failure_limit() -> Limit:
    failures, window = app_settings.LOGIN_FAILURES_PER_IP
    return Limit("signin-ip", failures, window)


@dataclass(frozen=True)
class PasswordOutcome:
    user: User | None = None
    retry_after: int = 0  # seconds to wait when throttled


def check_password_step(request: HttpRequest, *, email: str, password: str) -> PasswordOutcome:
    """Authenticate step 1, counting failures per account and per client IP.

    An unknown email and a wrong password give the same outcome, and both run
    the hasher (EmailBackend), so neither wording nor timing tells them apart.
    """
    email_key = normalize_email_address(email)
    ip_key = client_ip(request) or "unknown"
    account_limit, ip_limit = account_failure_limit(), ip_failure_limit()
    wait = max(account_limit.retry_after(email_key), ip_limit.retry_after(ip_key))
    known_user = get_user_model().objects.filter(email__iexact=email_key).first()
    if wait:
        audit.record(request, audit.SIGN_IN_THROTTLED, actor=None, target=known_user,
                     method="password", attempted_email=email_key, data={"retry_after": wait})
        return PasswordOutcome(retry_after=wait)
    user = authenticate(request, email=email_key, password=password)
    if user is None:
        account_limit.hit(email_key)
        ip_limit.hit(ip_key)
        audit.record(request, audit.SIGN_IN_FAILED, actor=None, target=known_user,
                     method="password", attempted_email=email_key)
        return PasswordOutcome()
    account_limit.reset(email_key)
    return PasswordOutcome(user=user)


def needs_second_step(user: User) -> bool:
    return bool(active_methods(user))


def start_second_step(request: HttpRequest, user: User, *, next_url: str) -> None:
    """Remember a half-done sign-in and rotate the session key."""
    request.session[PENDING_SESSION_KEY] = {
        # Identifies this one sign-in attempt, so a code issued for it (a
        # text, say) cannot complete another attempt.
        "attempt_id": secrets.token_urlsafe(16),
        "user_id": user.pk,
        "backend": user.backend,
        "started_at": clock.timestamp(),
        "next": next_url,
    }
    request.session.cycle_key()


def pending_user(request: HttpRequest) -> User | None:
    """Return the user half-way through sign-in, or None (also once it expired)."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending:
        return None
    if clock.timestamp() - pending["started_at"] > mfa_settings.PENDING_SIGN_IN_TIMEOUT:
        cancel_pending(request)
        return None
    return get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()


def pending_attempt_id(request: HttpRequest) -> str:
    """Return the id of the sign-in attempt in progress ("" when none)."""
    return (request.session.get(PENDING_SESSION_KEY) or {}).get("attempt_id", "")


def pending_next_url(request: HttpRequest) -> str:
    return (request.session.get(PENDING_SESSION_KEY) or {}).get("next", "")


def has_pending_sign_in(request: HttpRequest) -> bool:
    return PENDING_SESSION_KEY in request.session


def cancel_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)


def complete_sign_in(request: HttpRequest, user: User, *, device=None, method_key: str = "password") -> None:
    """Sign the user in (rotating the session key) and record it.

    With a device, django-otp marks the session verified, so
    ``request.user.is_verified()`` is true from here on.
    """
    pending = request.session.pop(PENDING_SESSION_KEY, None) or {}
    backend = pending.get("backend") or getattr(user, "backend", None)
    login(request, user, backend=backend)
    if device is not None:
        django_otp.login(request, device)
    started = clock.timestamp()
    request.session[AUTH_STARTED_SESSION_KEY] = started
    request.session[LAST_ACTIVITY_SESSION_KEY] = started
    account_failure_limit().reset(user.email)
    audit.record(request, audit.SIGN_IN_SUCCEEDED, actor=user, method=method_key)


def record_second_step_failure(request: HttpRequest, user: User, *, method_key: str, error: str, data: dict) -> None:
    audit.record(request, audit.SIGN_IN_SECOND_FACTOR_FAILED, actor=None, target=user,
                 method=method_key, attempted_email=user.email, data={"error": error, **data})
