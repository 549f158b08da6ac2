"""Text Messages codes: issue one for a step, queue its text, report the text's delivery, check it.

A code is issued by writing its keyed hash (SMSChallenge) and its text (an
outbox row, accounts.delivery) in one transaction; a worker sends the text
(mfa.sms.delivery). No web request waits on Twilio: the page says
"Sending…" and learns "Sent" or "We could not send the text: …" from the
row. No audit entry or log line carries a code.
"""
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import audit, delivery
from accounts.client import client_ip, rate_limit_network, user_agent
from accounts.models import Delivery, DeliveryState
from agencies.models import Membership
from ctm_auth import clock
from ctm_auth.faults import CacheUnavailable
from mfa.sms import codes, limits
from mfa.sms.app_settings import app_settings
from mfa.sms.delivery import METHOD_KEY
from mfa.sms.gateways.base import ERROR_MESSAGES
from mfa.sms.models import Purpose, SMSChallenge, SMSDevice

# Plain strings: they go into the session (JSON) and serve as dict keys.
SIGN_IN, REAUTH = Purpose.SIGN_IN.value, Purpose.REAUTH.value
ENROL, CHANGE_CURRENT, CHANGE_NEW = Purpose.ENROL.value, Purpose.CHANGE_CURRENT.value, Purpose.CHANGE_NEW.value
# Texts to a number its owner has not proved yet: they spend their own per-number budget.
UNVERIFIED_NUMBER_PURPOSES = frozenset({ENROL, CHANGE_NEW})

LIMITED = "mfa.sms.limited"
REAUTH_NONCE_SESSION_KEY = "mfa_sms_reauth_nonce"

CHECK_ERRORS = {
    "invalid_format": gettext_lazy("Enter the 6-digit code from the text message."),
    "no_code": gettext_lazy("No code was sent for this step. Press “Resend code” to get one."),
    "used": gettext_lazy("This code was already used. Press “Resend code” to get a new one."),
    "expired": gettext_lazy("This code has expired. Press “Resend code” to get a new one."),
    "dead": gettext_lazy("Too many wrong codes: this code no longer works. Press “Resend code” to get a new one."),
    "undelivered": gettext_lazy("The text with this code could not be sent. Press “Resend code” to try again."),
}
LIMITS_UNAVAILABLE = gettext_lazy(
    "Text messages are briefly unavailable, so no text was sent. Try again in a minute, or use another method."
)


# --------------------------------------------------------------------------
# Sending


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one request for a text. ``error`` is a stable code.

    ``sent`` means the text is queued (a worker sends it after the commit);
    whether it then reached the gateway is the challenge's DeliveryStatus.
    """

    sent: bool
    error: str = ""
    message: str = ""
    retry_after: int = 0
    about_number: bool = False  # the number itself was refused (show it on the number field)


def send_code(
    request: HttpRequest, *, user, purpose: str, nonce: str, number: str, device: SMSDevice | None = None
) -> SendOutcome:
    """Issue a new code for one step and queue its text.

    A new code replaces the step's previous one; while that one was still
    usable its failure count carries over, so resending never buys more tries.
    The limit slots taken here travel with the text: if it cannot be sent, the
    worker gives them back.
    """
    binding = codes.binding_for(purpose, nonce)
    try:
        reservation = limits.reserve(
            user_id=user.pk, binding=binding, number=number, ip=rate_limit_network(request),
            agency_ids=_agency_ids(user), number_verified=purpose not in UNVERIFIED_NUMBER_PURPOSES,
        )
    except CacheUnavailable:
        # Limits fail closed: without them a text could be sent a thousand times.
        return SendOutcome(sent=False, error="limits_unavailable", message=str(LIMITS_UNAVAILABLE))
    if isinstance(reservation, limits.Refusal):
        audit.record(request, LIMITED, actor=acting_user(request, user), target=user, method=METHOD_KEY,
                     data={"limit": reservation.error, "retry_after": reservation.retry_after, "purpose": purpose})
        return SendOutcome(sent=False, error=reservation.error, message=reservation.message,
                           retry_after=reservation.retry_after)
    try:
        _store_code(request, user=user, purpose=purpose, binding=binding, number=number, device=device,
                    code=codes.generate_code(), reservation=reservation)
    except IntegrityError:  # the same step's first code, issued twice at once: one wins
        reservation.release()
        return SendOutcome(sent=False, error="failed", message=str(ERROR_MESSAGES["failed"]))
    except BaseException:
        reservation.release()
        raise
    return SendOutcome(sent=True)


def _store_code(request, *, user, purpose, binding, number, device, code, reservation) -> SMSChallenge:
    """Write the code's hash and its queued text together: both exist, or neither."""
    now = clock.now()
    with transaction.atomic():
        # Finished or abandoned steps leave a row each; keep the table small.
        SMSChallenge.objects.filter(user=user, expires_at__lt=now - timedelta(days=1)).delete()
        row = SMSChallenge.objects.select_for_update().filter(user=user, purpose=purpose, binding=binding).first()
        if row is None:
            row = SMSChallenge(user=user, purpose=purpose, binding=binding, sends=0)
        elif not _is_live(row, now):
            row.failures = 0  # a dead, used or expired code's count does not carry over
        row.device, row.number, row.used_at = device, number, None
        row.code_hash = codes.code_hash(user_id=user.pk, purpose=purpose, binding=binding, code=code)
        row.issued_at, row.expires_at = now, now + timedelta(seconds=app_settings.CODE_VALIDITY)
        row.sends += 1
        row.save()
        row.delivery = delivery.enqueue(
            channel="sms", kind=f"sms:{purpose}", user=user, to=number, deadline=row.expires_at,
            payload={
                "body": codes.message_body(code=code, host=_origin_host(request), user=user),
                "challenge": row.pk, "purpose": purpose, "reservation": reservation.as_dict(),
                "ip": client_ip(request), "user_agent": user_agent(request),
            },
        )
        row.save(update_fields=["delivery"])
    return row


def _is_live(row: SMSChallenge, now) -> bool:
    return row.used_at is None and row.failures < app_settings.MAX_ATTEMPTS and now < row.expires_at


def _agency_ids(user) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("agency_id", flat=True))


def acting_user(request: HttpRequest | None, user):
    """The signed-in person, or the user being signed in (step 2 has no signed-in user yet)."""
    current = getattr(request, "user", None)
    return current if current is not None and current.is_authenticated else user


def _origin_host(request: HttpRequest) -> str:
    if app_settings.ORIGIN_HOST:
        return app_settings.ORIGIN_HOST
    domain, _port = split_domain_port(request.get_host())
    return domain or "localhost"


def resend_wait(user_id: int, purpose: str, nonce: str) -> int:
    """Return the seconds before "Resend code" may text this step again."""
    return limits.cooldown().remaining(limits.cooldown_key(user_id, codes.binding_for(purpose, nonce)))


# --------------------------------------------------------------------------
# Delivery state, as the pages show it


@dataclass(frozen=True)
class DeliveryStatus:
    """Where a step's text is: "none" (no text), "sending", "sent" or "failed"."""

    state: str
    message: str = ""
    error: str = ""  # the stable code of the failure ("invalid_number", "timeout", ...)
    about_number: bool = False


NO_TEXT = DeliveryStatus("none")
_RETRYING = gettext_lazy("Sending the text… The text message service did not take it on the first try; "
                         "we are trying again.")
_FAILED = gettext_lazy("We could not send the text: %(reason)s")
_NUMBER_ERRORS = frozenset({"invalid_number", "not_mobile", "country_blocked"})


def _reason(error: str) -> str:
    return str(ERROR_MESSAGES.get(error, ERROR_MESSAGES["failed"]))


def delivery_status(challenge: SMSChallenge | None) -> DeliveryStatus:
    """Return what the page says about the text of this step's current code."""
    row: Delivery | None = getattr(challenge, "delivery", None) if challenge is not None else None
    if row is None:
        return DeliveryStatus("none")
    if row.state == DeliveryState.SENT:
        return DeliveryStatus("sent", _("Sent."))
    if row.state in (DeliveryState.PENDING, DeliveryState.SENDING):
        if row.last_error and row.last_error != "worker_lost":
            return DeliveryStatus("sending", str(_RETRYING), error=row.last_error)
        return DeliveryStatus("sending", _("Sending the text…"))
    return DeliveryStatus("failed", str(_FAILED) % {"reason": _reason(row.last_error)}, error=row.last_error,
                          about_number=row.last_error in _NUMBER_ERRORS)


def status_for_step(user, purpose: str, nonce: str) -> DeliveryStatus:
    return delivery_status(current_challenge(user, purpose, nonce))


# --------------------------------------------------------------------------
# Checking


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    error: str = ""
    message: str = ""
    challenge: SMSChallenge | None = None
    tries_left: int = 0


def current_challenge(user, purpose: str, nonce: str) -> SMSChallenge | None:
    if not nonce:
        return None
    return (SMSChallenge.objects.select_related("delivery")
            .filter(user=user, purpose=purpose, binding=codes.binding_for(purpose, nonce)).first())


def challenge_state(challenge: SMSChallenge | None) -> str:
    """Return "none", "live", "used", "dead", "expired" or "undelivered" for a step's code."""
    if challenge is None:
        return "none"
    if challenge.used_at is not None:
        return "used"
    if challenge.delivery is not None and challenge.delivery.state in (
        DeliveryState.FAILED, DeliveryState.DEAD, DeliveryState.DROPPED,
    ):
        return "undelivered"
    if challenge.failures >= app_settings.MAX_ATTEMPTS:
        return "dead"
    if clock.now() >= challenge.expires_at:
        return "expired"
    return "live"


def check_code(*, user, purpose: str, nonce: str, code: str, device: SMSDevice | None = None) -> CheckResult:
    """Accept ``code`` once, for this user and this step only; count a wrong one.

    The final update is conditional (unused, not dead, not expired, same
    code), so two requests with the same code cannot both succeed.
    """
    typed = codes.normalize_code(code)
    if typed is None:
        return CheckResult(ok=False, error="invalid_format", message=str(CHECK_ERRORS["invalid_format"]))
    challenge = current_challenge(user, purpose, nonce)
    if challenge is not None and device is not None and (
        challenge.device_id != device.pk or challenge.number != device.number
    ):
        challenge = None  # sent to a number that is no longer the user's
    state = challenge_state(challenge)
    if state != "live":
        error = "no_code" if state == "none" else state
        return CheckResult(ok=False, error=error, message=str(CHECK_ERRORS[error]), challenge=challenge)
    now = clock.now()
    if codes.code_matches(challenge.code_hash, user_id=user.pk, purpose=purpose, binding=challenge.binding, code=typed):
        won = SMSChallenge.objects.filter(
            pk=challenge.pk, code_hash=challenge.code_hash, used_at__isnull=True,
            failures__lt=app_settings.MAX_ATTEMPTS, expires_at__gt=now,
        ).update(used_at=now)
        if won:
            return CheckResult(ok=True, challenge=challenge)
        return CheckResult(ok=False, error="used", message=str(CHECK_ERRORS["used"]), challenge=challenge)
    return _count_failure(challenge)


def _count_failure(challenge: SMSChallenge) -> CheckResult:
    SMSChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(failures=F("failures") + 1)
    challenge.refresh_from_db(fields=["failures"])
    left = max(0, app_settings.MAX_ATTEMPTS - challenge.failures)
    if left == 0:
        return CheckResult(ok=False, error="dead", message=str(CHECK_ERRORS["dead"]), challenge=challenge)
    message = ngettext(
        "Incorrect code. You have %(count)d more try with this code.",
        "Incorrect code. You have %(count)d more tries with this code.",
        left,
    ) % {"count": left}
    return CheckResult(ok=False, error="incorrect_code", message=message, challenge=challenge, tries_left=left)


# --------------------------------------------------------------------------
# Sign-in and re-authentication


def active_device(user) -> SMSDevice | None:
    return SMSDevice.objects.filter(user=user, confirmed=True).first()


def challenge_nonce(request: HttpRequest, purpose: str, *, create: bool = False) -> str:
    """Return what a sign-in or re-authentication code is bound to in this session.

    A sign-in code is bound to the attempt (accounts.pending_sign_in), so it cannot
    finish another sign-in; a re-authentication code to a nonce of this
    session, renewed after each success.
    """
    from accounts.pending_sign_in import pending_attempt_id

    if purpose == SIGN_IN:
        return pending_attempt_id(request)
    nonce = request.session.get(REAUTH_NONCE_SESSION_KEY, "")
    if not nonce and create:
        nonce = request.session[REAUTH_NONCE_SESSION_KEY] = codes.new_nonce()
    return nonce


def verify_for_step(request: HttpRequest, *, user, purpose: str, code: str) -> tuple[CheckResult, SMSDevice | None]:
    """Check a sign-in or re-authentication code against the user's active number."""
    device = active_device(user)
    if device is None:
        return CheckResult(ok=False, error="no_device", message=_("Text Messages is not set up.")), None
    result = check_code(user=user, purpose=purpose, nonce=challenge_nonce(request, purpose), code=code, device=device)
    if result.ok:
        SMSDevice.objects.filter(pk=device.pk).update(last_used_at=clock.now())
        if purpose == REAUTH:
            request.session.pop(REAUTH_NONCE_SESSION_KEY, None)
    return result, device


def cancel_codes(*, user_id: int, purpose: str, nonce: str) -> int:
    """Forget a step's code (a cancelled sign-in): its queued text is then dropped, never sent."""
    if not nonce:
        return 0
    deleted, _detail = SMSChallenge.objects.filter(
        user_id=user_id, purpose=purpose, binding=codes.binding_for(purpose, nonce),
    ).delete()
    return deleted



def forget_cancelled_sign_in(*, user_id: int | None, attempt_id: str, **kwargs) -> None:
    """Receiver of accounts.pending_sign_in.sign_in_cancelled: that attempt's text must not go out."""
    if user_id is not None:
        cancel_codes(user_id=user_id, purpose=SIGN_IN, nonce=attempt_id)
