"""The state of a half-done sign-in (password given, second factor not yet), read by methods too.

accounts.signin runs the sign-in; this module only holds what it leaves in
the session between the steps, so a method (a text tied to one attempt)
can read it without importing the orchestration.
"""
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from accounts.models import User
from ctm_auth import clock
from mfa.app_settings import app_settings as mfa_settings
from mfa.registry import load_user_with_states

PENDING_SESSION_KEY = "signin_pending"

# Sent with user_id and attempt_id when a half-done sign-in ends without
# completing (signed out, expired, replaced by a new sign-in): a method drops
# what it issued for that attempt. A signal, so accounts imports no method.
sign_in_cancelled = Signal()


def pending_user(request: HttpRequest) -> User | None:
    """Return the user half-way through sign-in, or None (also once it expired)."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending:
        return None
    if clock.timestamp() - pending["started_at"] > mfa_settings.PENDING_SIGN_IN_TIMEOUT:
        cancel_pending(request)
        return None
    user = load_user_with_states(pk=pending["user_id"], is_active=True)
    if user is None or not constant_time_compare(pending.get("auth_hash", ""), user.get_session_auth_hash()):
        cancel_pending(request)
        return None
    return user


def pending_attempt_id(request: HttpRequest) -> str:
    """Return the id of the sign-in attempt in progress ("" when none)."""
    return (request.session.get(PENDING_SESSION_KEY) or {}).get("attempt_id", "")


def pending_next_url(request: HttpRequest) -> str:
    return (request.session.get(PENDING_SESSION_KEY) or {}).get("next", "")


def has_pending_sign_in(request: HttpRequest) -> bool:
    return PENDING_SESSION_KEY in request.session


def cancel_pending(request: HttpRequest) -> None:
    """End the half-done sign-in; methods drop what they issued for it (a queued text is never sent)."""
    pending = request.session.pop(PENDING_SESSION_KEY, None)
    if pending:
        sign_in_cancelled.send(sender=User, user_id=pending.get("user_id"), attempt_id=pending.get("attempt_id", ""))
