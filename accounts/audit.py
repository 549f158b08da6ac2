"""The one way security events are written: ``audit.record(...)``."""
import logging

from django.http import HttpRequest

from accounts.client import client_ip, user_agent
from accounts.models import AuditEvent
from ctm_auth import clock

logger = logging.getLogger("ctm_auth.audit")

# Event types. Tests and the Security Log filter on these stable codes.
SIGN_IN_SUCCEEDED = "signin.succeeded"
SIGN_IN_FAILED = "signin.failed"
SIGN_IN_THROTTLED = "signin.throttled"
SIGN_IN_SECOND_FACTOR_FAILED = "signin.second_factor_failed"
SIGN_OUT = "signout"
REAUTH_SUCCEEDED = "reauth.succeeded"
REAUTH_FAILED = "reauth.failed"
PASSWORD_CHANGED = "password.changed"
PASSWORD_CHANGE_FAILED = "password.change_failed"
MFA_DEFAULT_METHOD_CHANGED = "mfa.default_method_changed"

SIGN_IN_EVENTS = (SIGN_IN_SUCCEEDED, SIGN_IN_FAILED, SIGN_IN_THROTTLED, SIGN_IN_SECOND_FACTOR_FAILED)


def record(
    request: HttpRequest | None,
    event_type: str,
    *,
    actor=None,
    target=None,
    agency=None,
    method: str = "",
    attempted_email: str = "",
    data: dict | None = None,
    client: tuple[str | None, str] | None = None,
) -> AuditEvent:
    """Write one security event with who, to whom, where from and when.

    ``actor`` defaults to the signed-in user; ``target`` defaults to ``actor``.
    ``data`` must never hold a secret, a code or a password. ``client`` (IP
    address, User-Agent) stands in for ``request`` when a worker records what
    a request asked for (a text sent after the request ended).
    """
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    event = AuditEvent.objects.create(
        created_at=clock.now(),  # the one clock: tests that move time see their events move too
        event_type=event_type,
        actor=actor,
        target_user=target if target is not None else actor,
        agency=agency,
        method=method,
        attempted_email=attempted_email[:254],
        ip_address=client_ip(request) if request is not None else (client or (None, ""))[0],
        user_agent=user_agent(request) if request is not None else (client or (None, ""))[1][:512],
        data=data or {},
    )
    logger.info("audit %s actor=%s target=%s method=%s", event_type,
                getattr(actor, "pk", None), getattr(event.target_user, "pk", None), method)
    return event
