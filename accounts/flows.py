"""Account writes that are more than one row: each audits and emails in the same transaction."""
from django.db import transaction
from django.http import HttpRequest

from accounts import audit, notify, sessions
from accounts.client import client_ip
from accounts.models import User


def change_password(request: HttpRequest, *, user: User, new_password: str) -> None:
    """Set ``user``'s new password, keep this session signed in, audit and email.

    The email is an outbox row in the same transaction: the change and its
    notice commit together, and a mail server that is down cannot undo the
    change or sign the user out.
    """
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record(request, audit.PASSWORD_CHANGED, actor=user)
        notify.send(user, "accounts/email/password_changed", {"request_ip": client_ip(request)})
    # Keeps this session; every other session of the user ends, because
    # their stored password hash no longer matches (and is deleted now).
    sessions.keep_only_this_session(request, user=user)
