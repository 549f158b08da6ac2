"""Sign-in in two steps: the password, then (if the user has one) a second factor.

Between the steps the session holds only a "pending" marker: the user is not
signed in, ``request.user`` stays anonymous, and mfa.middleware sends every
URL but step 2 and sign-out back to step 2.
"""
import secrets
from dataclasses import dataclass

import django_otp
import django_otp.models
from django.conf import settings
from django.contrib.auth import authenticate, login
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts import audit, reauth
from accounts.app_settings import app_settings
from accounts.client import rate_limit_network
from accounts.models import User, normalize_email_address
from accounts.pending_sign_in import (  # noqa: F401 - the half-done sign-in's state, re-exported for the views
    PENDING_SESSION_KEY,
    cancel_pending,
    has_pending_sign_in,
    pending_attempt_id,
    pending_next_url,
    pending_user,
    sign_in_cancelled,
)
from accounts.ratelimit import DatabaseLimit, Limit, give_back_all, take_all
from ctm_auth import clock
from mfa import policy
from mfa.app_settings import app_settings as mfa_settings
from mfa.base.method import Method
from mfa.registry import get_method, load_user_with_states

# A passkey that answered without user verification: possession is proven,
# the password is still to come (then no step 2: the key was the second factor).
KEY_PROVEN_SESSION_KEY = "signin_key_proven"

DEVICE_COOKIE_SALT = "accounts.signin.known-device"
AUTH_STARTED_SESSION_KEY = "auth_started_at"
LAST_ACTIVITY_SESSION_KEY = "last_activity_at"


def account_failure_limit() -> DatabaseLimit:
    """The per-account budget, in the database: a Redis restart must not lift a lock-out."""
    failures, window = app_settings.LOGIN_FAILURES_PER_ACCOUNT
    return DatabaseLimit("signin-account", failures, window)


def ip_failure_limit() -> Limit:
    """The per-IP budget, in the cache: it fails closed (503) while Redis is down."""
    failures, window = app_settings.LOGIN_FAILURES_PER_IP
    return Limit("signin-ip", failures, window)


@dataclass(frozen=True)
class PasswordOutcome:
    user: User | None = None
    retry_after: int = 0  # seconds to wait when throttled
    # After a wrong password: what the budget it was counted against has
    # left. An unknown email has a budget of its own too, so the warnings
    # come at the same counts and reveal no account.
    attempts_left: int | None = None


def account_limit_key(user: User | None, email_key: str) -> str:
    """Key the per-account limit on the user when one matches.

    The database may match an address that differs in Unicode case folding
    (PostgreSQL upper-cases "ſ" to "S"); keying on the row, not the typed
    text, gives every spelling of one account the same budget.
    """
    return f"user:{user.pk}" if user is not None else f"email:{email_key}"


def check_password_step(request: HttpRequest, *, email: str, password: str) -> PasswordOutcome:
    """Authenticate step 1, counting failures per account and per client IP.

    The attempt is counted before the password is checked, so parallel
    guesses cannot all slip through while the hasher runs; a correct
    password hands its slots back. An unknown email and a wrong password give
    the same outcome, and both run the hasher (EmailBackend), so neither
    wording nor timing tells them apart.
    """
    email_key = normalize_email_address(email)
    # The one lookup of this step: the rate limits key on it, and authenticate() checks its password.
    known_user = load_user_with_states(email__iexact=email_key)
    device = known_device_id(request, known_user)
    account_key = account_limit_key(known_user, email_key)
    slots = [
        # The cache-backed per-IP slot first: while Redis is down it refuses
        # (503) before any account slot is spent, so an outage locks nobody out.
        (ip_failure_limit(), rate_limit_network(request)),
        # A browser this account signed in from before keeps a budget of its
        # own, so strangers guessing the password cannot lock its owner out.
        (known_device_failure_limit(), f"{account_key}|{device}") if device
        else (account_failure_limit(), account_key),
    ]
    wait, taken = take_all(slots)
    if wait:
        audit.record(request, audit.SIGN_IN_THROTTLED, actor=None, target=known_user,
                     method="password", attempted_email=email_key, data={"retry_after": wait})
        return PasswordOutcome(retry_after=wait)
    user = authenticate(request, email=email_key, password=password, known_user=known_user)
    if user is None:
        audit.record(request, audit.SIGN_IN_FAILED, actor=None, target=known_user,
                     method="password", attempted_email=email_key)
        return PasswordOutcome(attempts_left=taken[1].remaining())  # the account budget's, with this attempt
    give_back_all(taken)
    return PasswordOutcome(user=user)


def known_device_failure_limit() -> DatabaseLimit:
    """A known browser's own per-account budget, in the database like the account's."""
    failures, window = app_settings.LOGIN_FAILURES_PER_ACCOUNT
    return DatabaseLimit("signin-known-device", failures, window)


def _device_signer(user: User) -> signing.TimestampSigner:
    """Sign device cookies with a key bound to ``user``.

    The user is in the key, not in the value: the cookie shows only a random
    device id and its date, yet verifies for no other account.
    """
    return signing.TimestampSigner(salt=f"{DEVICE_COOKIE_SALT}:{user.pk}")


def remember_device(response: HttpResponse, user: User) -> None:
    """Mark this browser as one ``user`` signed in from (OWASP's "device cookie")."""
    value = _device_signer(user).sign(secrets.token_urlsafe(12))
    response.set_cookie(
        app_settings.KNOWN_DEVICE_COOKIE_NAME, value, max_age=app_settings.KNOWN_DEVICE_MAX_AGE,
        httponly=True, secure=settings.SESSION_COOKIE_SECURE, samesite="Lax",
    )


def known_device_id(request: HttpRequest, user: User | None) -> str:
    """Return this browser's device id when it signed in as ``user`` before, else ""."""
    raw = request.COOKIES.get(app_settings.KNOWN_DEVICE_COOKIE_NAME)
    if not raw or user is None:
        return ""
    try:
        return _device_signer(user).unsign(raw, max_age=app_settings.KNOWN_DEVICE_MAX_AGE)
    except signing.BadSignature:  # forged, expired, or another account's
        return ""


def needs_second_step(user: User) -> bool:
    """True when step 2 asks for a second factor: the user has a method their agencies allow.

    A member whose only primary methods the policy refuses is treated as not
    enrolled (mfa.policy.challenge_methods): the password signs them in, then
    the policy's banner or forced set-up.
    """
    return policy.has_second_factor(user)


def start_second_step(request: HttpRequest, user: User, *, next_url: str) -> None:
    """Remember a half-done sign-in and rotate the session key (an earlier one in this session ends)."""
    cancel_pending(request)
    request.session[PENDING_SESSION_KEY] = {
        # Identifies this one sign-in attempt, so a code issued for it (a
        # text, say) cannot complete another attempt.
        "attempt_id": secrets.token_urlsafe(16),
        "user_id": user.pk,
        # Ends the attempt if the password changes or an administrator resets
        # the account (session stamp) before step 2 is answered.
        "auth_hash": user.get_session_auth_hash(),
        "backend": user.backend,
        "started_at": clock.timestamp(),
        "next": next_url,
    }
    request.session.cycle_key()


def complete_sign_in(request: HttpRequest, user: User, *, device=None, method_key: str = "password") -> None:
    """Sign the user in (rotating the session key) and record it.

    With a device, django-otp marks the session verified, so
    ``request.user.is_verified()`` is true from here on.

    The sign-in counts as a step-up for the user's window
    (reauth.reauth_window_for): with a device (a second factor answered
    now) for every sensitive page, without one (the password alone) only
    while the user has no allowed second factor. A sign-in that skips
    step 2 must therefore pass no device.
    """
    pending = request.session.pop(PENDING_SESSION_KEY, None) or {}
    request.session.pop(KEY_PROVEN_SESSION_KEY, None)
    # A sign-in with a passkey alone authenticated through no backend.
    backend = pending.get("backend") or getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[0]
    login(request, user, backend=backend)
    method = get_method(method_key)
    if device is not None:
        django_otp.login(request, device)
    reauth.mark_reauthenticated(request, second_factor=device is not None and (method is None or method.opens_step_up))
    started = clock.timestamp()
    request.session[AUTH_STARTED_SESSION_KEY] = started
    request.session[LAST_ACTIVITY_SESSION_KEY] = started
    account_failure_limit().reset(account_limit_key(user, user.email))
    audit.record(request, audit.SIGN_IN_SUCCEEDED, actor=user, method=method_key)
    if method is not None and device is not None:
        method.signed_in_with(request, user, device)


def record_second_step_failure(request: HttpRequest, user: User, *, method_key: str, error: str, data: dict) -> None:
    audit.record(request, audit.SIGN_IN_SECOND_FACTOR_FAILED, actor=None, target=user,
                 method=method_key, attempted_email=user.email, data={"error": error, **data})


# -- sign-in with a method alone (a passkey), before any email is typed ----------

@dataclass(frozen=True)
class SignInWithoutUserOutcome:
    user: User | None = None
    device: object | None = None
    both_factors: bool = False
    message: str = ""
    retry_after: int = 0


def sign_in_without_user(request: HttpRequest, method: Method, *, answer: str) -> SignInWithoutUserOutcome:
    """Check a method's answer that names its own user (a discoverable passkey); limited and audited.

    Each answer takes a slot of the client's per-IP sign-in budget first,
    handed back when it passes; the account's own budget is not touched, so
    nobody can lock an owner out by replaying junk at their key's id.
    """
    wait, taken = take_all([(ip_failure_limit(), rate_limit_network(request))])
    if wait:
        audit.record(request, audit.SIGN_IN_THROTTLED, actor=None, method=method.key, data={"retry_after": wait})
        return SignInWithoutUserOutcome(retry_after=wait)
    identification = method.identify(request, answer)
    if identification.user is None:
        audit.record(request, audit.SIGN_IN_FAILED, actor=None, target=identification.claimed_user,
                     method=method.key, data={"error": identification.error})
        return SignInWithoutUserOutcome(message=identification.message)
    give_back_all(taken)
    if not policy.method_allowed(identification.user, method):
        # A right answer with a method the user's agency refuses: it proves
        # nothing the policy accepts, so the password (and step 2) must do.
        audit.record(request, audit.SIGN_IN_FAILED, actor=None, target=identification.user,
                     method=method.key, data={"error": "method_not_allowed"})
        return SignInWithoutUserOutcome(message=_("%(refusal)s Sign in with your email and password.") % {
            "refusal": policy.not_allowed_message(identification.user, method)})
    return SignInWithoutUserOutcome(user=identification.user, device=identification.device,
                                    both_factors=identification.both_factors)


def remember_key_proven(request: HttpRequest, user: User, device, *, method_key: str, next_url: str) -> None:
    """Hold a one-factor passkey answer until the same user's password arrives (then no step 2)."""
    cancel_pending(request)
    request.session[KEY_PROVEN_SESSION_KEY] = {
        "user_id": user.pk, "device": device.persistent_id, "method": method_key,
        "auth_hash": user.get_session_auth_hash(), "started_at": clock.timestamp(), "next": next_url,
    }


def key_proven_user(request: HttpRequest) -> User | None:
    """Return the user whose key answered without user verification, while that still counts."""
    proven = request.session.get(KEY_PROVEN_SESSION_KEY)
    if not proven:
        return None
    user = load_user_with_states(pk=proven["user_id"], is_active=True)
    if (clock.timestamp() - proven["started_at"] > mfa_settings.PENDING_SIGN_IN_TIMEOUT or user is None
            or not constant_time_compare(proven["auth_hash"], user.get_session_auth_hash())):
        request.session.pop(KEY_PROVEN_SESSION_KEY, None)
        return None
    return user


def take_proven_key(request: HttpRequest, user: User) -> tuple[object, str] | None:
    """Return (device, method key) when ``user`` is the one whose key answered before the password.

    Another account's password clears it: the key proved nothing for them.
    """
    proven_user = key_proven_user(request)
    proven = request.session.pop(KEY_PROVEN_SESSION_KEY, None)
    if proven_user is None or proven_user.pk != user.pk:
        return None
    device = django_otp.models.Device.from_persistent_id(proven["device"])
    if device is None or device.user_id != user.pk or not device.confirmed:  # removed meanwhile
        return None
    method = get_method(proven["method"])
    if method is None or not policy.method_allowed(user, method):  # the policy refuses that key (now)
        return None
    return device, proven["method"]


def forget_key_proven(request: HttpRequest) -> None:
    request.session.pop(KEY_PROVEN_SESSION_KEY, None)
