"""Forgot password: a single-use link by email, then a new password; never a way around two-factor.

Asking for a link answers the same for every address, known or not, and
does the same work before answering (the token, the email's rendering, one
audit row); only a known, active account gets an outbox row. Requests are
limited per address (in the database, like the sign-in budget) and per
client IP (in the cache).

The link's token (``token_generator``) covers the password hash, the session
stamp and the last sign-in, so it works once, stops working after any later
password change or administrator reset, and lapses after
ACCOUNTS_PASSWORD_RESET_TIMEOUT. Setting the new password signs nobody in:
the next sign-in still asks for the second factor.
"""
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator as DjangoTokenGenerator
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from accounts import audit, notify, signin, trusted_browsers
from accounts.app_settings import app_settings
from accounts.client import client_ip, rate_limit_network
from accounts.models import User, normalize_email_address
from accounts.ratelimit import DatabaseLimit, Limit, take_all
from ctm_auth import clock

# Audit event types (stable codes; the Security Log filters on them).
PASSWORD_RESET_REQUESTED = "password.reset_requested"
PASSWORD_RESET_THROTTLED = "password.reset_throttled"
PASSWORD_RESET_LINK_REFUSED = "password.reset_link_refused"
PASSWORD_RESET = "password.reset"

REQUEST_EMAIL = "accounts/email/password_reset"
DONE_EMAIL = "accounts/email/password_reset_done"

# Where the link's token waits between opening the link and posting the new
# password, so the token leaves the address bar (and any Referer) at once.
SESSION_KEY = "password_reset"


class PasswordResetTokenGenerator(DjangoTokenGenerator):
    """Django's reset token, bound to the session stamp too, on the project clock.

    Django's hash covers the password hash and the last sign-in, so the
    token works once. Adding the session stamp ends it when an administrator
    resets the account (``User.end_all_sessions``) as well.
    """

    key_salt = "accounts.password_reset.PasswordResetTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}|{user.session_stamp}"

    def _now(self) -> datetime:
        """Return naive UTC from ctm_auth.clock, so tests move this clock with everything else."""
        return clock.now().replace(tzinfo=None)

    def check_token(self, user: User | None, token: str | None) -> bool:
        """Also refuse a token older than ACCOUNTS_PASSWORD_RESET_TIMEOUT (Django's own cap still holds)."""
        if not super().check_token(user, token):
            return False
        issued = base36_to_int(token.split("-")[0])
        return self._num_seconds(self._now()) - issued <= app_settings.PASSWORD_RESET_TIMEOUT


token_generator = PasswordResetTokenGenerator()


def account_request_limit() -> DatabaseLimit:
    """Requests per address, in the database: nobody can mail-bomb an inbox with reset links."""
    requests, window = app_settings.PASSWORD_RESET_REQUESTS_PER_ACCOUNT
    return DatabaseLimit("reset-account", requests, window)


def ip_request_limit() -> Limit:
    """Requests per client IP, in the cache (fails closed while Redis is down)."""
    requests, window = app_settings.PASSWORD_RESET_REQUESTS_PER_IP
    return Limit("reset-ip", requests, window)


@dataclass(frozen=True)
class RequestOutcome:
    retry_after: int = 0  # seconds to wait when throttled; 0 when the request was taken


def request_reset(request: HttpRequest, *, email: str) -> RequestOutcome:
    """Email a reset link when ``email`` names an active account; look the same either way.

    Both limits count every request, known address or not, so their answers
    reveal no account either. The slots are taken before anything else, so
    parallel requests cannot slip past them.
    """
    email_key = normalize_email_address(email)
    user = get_user_model().objects.filter(email__iexact=email_key, is_active=True).first()
    # Per IP first: it fails closed while Redis is down, before an address's slot is spent.
    wait, _taken = take_all([(ip_request_limit(), rate_limit_network(request)),
                             (account_request_limit(), signin.account_limit_key(user, email_key))])
    if wait:
        audit.record(request, PASSWORD_RESET_THROTTLED, actor=None, target=user, attempted_email=email_key,
                     data={"retry_after": wait})
        return RequestOutcome(retry_after=wait)
    with transaction.atomic():
        audit.record(request, PASSWORD_RESET_REQUESTED, actor=None, target=user, attempted_email=email_key)
        if user is not None:
            notify.send(user, REQUEST_EMAIL, _request_email_context(request, user))
        else:
            # The same rendering work as a real email, so the answer takes as long; nothing is sent.
            stand_in = User(pk=0, email=email_key)
            notify.render(REQUEST_EMAIL, {**notify.base_context(stand_in), **_request_email_context(request, stand_in)})
    return RequestOutcome()


def _request_email_context(request: HttpRequest, user: User) -> dict:
    return {
        "reset_url": request.build_absolute_uri(reset_link_path(user)),
        "valid_minutes": max(1, app_settings.PASSWORD_RESET_TIMEOUT // 60),
        "request_ip": client_ip(request),
    }


def reset_link_path(user: User) -> str:
    """Return the path of a fresh reset link for ``user``."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:password_reset_link", kwargs={"uidb64": uidb64, "token": token_generator.make_token(user)})


def user_for_uid(uidb64: str) -> User | None:
    """Return the active user a link's uid names, or None for anything malformed or unknown."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


def check_link(request: HttpRequest, *, uidb64: str, token: str) -> User | None:
    """Return the user a link is valid for, or None (audited when it names a real account)."""
    user = user_for_uid(uidb64)
    if user is not None and token_generator.check_token(user, token):
        return user
    if user is not None:
        audit.record(request, PASSWORD_RESET_LINK_REFUSED, actor=None, target=user)
    return None


def hold_link(request: HttpRequest, *, uidb64: str, token: str) -> None:
    """Keep a checked link's token in the server-side session, out of the address bar."""
    request.session[SESSION_KEY] = {"uidb64": uidb64, "token": token}


def held_link(request: HttpRequest) -> tuple[User | None, str]:
    """Return the user and token of the link this session opened, if it is still valid."""
    held = request.session.get(SESSION_KEY) or {}
    user = user_for_uid(held.get("uidb64", ""))
    token = held.get("token", "")
    if user is None or not token_generator.check_token(user, token):
        request.session.pop(SESSION_KEY, None)
        return None, ""
    return user, token


def reset_password(request: HttpRequest, *, user: User, token: str, new_password: str) -> bool:
    """Set the new password if ``token`` is still good; return False (changing nothing) if not.

    The user's row is locked and the token checked again inside the
    transaction, so two submissions of one link cannot both succeed. Every
    session ends (the session stamp rotates) and every trusted browser is
    revoked; nobody is signed in, so the next sign-in asks for the second
    factor as always.
    """
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk, is_active=True).first()
        if locked is None or not token_generator.check_token(locked, token):
            return False
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        locked.end_all_sessions()
        revoked = trusted_browsers.revoke_all(request, user=locked, reason="password_reset", actor=locked)
        audit.record(request, PASSWORD_RESET, actor=locked, data={"trusted_browsers_revoked": revoked})
        notify.send(locked, DONE_EMAIL, {"request_ip": client_ip(request)})
    request.session.pop(SESSION_KEY, None)
    # The owner proved the mailbox and chose a new password: a lock-out
    # earned by someone guessing the old one no longer stands in their way.
    signin.account_failure_limit().reset(signin.account_limit_key(locked, locked.email))
    return True
