"""Everything Text Messages does: send and check codes, set up, change and disable.

Views and the SMSMethod call these functions and nothing else writes the
SMS tables. Each change is audited (accounts.audit) and emailed
(accounts.notify); no audit entry or log line carries a code or a token.
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import audit, notify
from accounts.client import rate_limit_network
from agencies.models import Membership
from ctm_auth import clock
from mfa import flows as mfa_flows
from mfa import policy
from mfa.sms import codes, limits
from mfa.sms.app_settings import app_settings
from mfa.sms.gateways import GatewayError, TextMessage, get_gateway
from mfa.sms.models import Purpose, SMSChallenge, SMSDevice
from mfa.sms.phone import mask_number

logger = logging.getLogger(__name__)

METHOD_KEY = "sms"
# Plain strings: they go into the session (JSON) and serve as dict keys.
SIGN_IN, REAUTH = Purpose.SIGN_IN.value, Purpose.REAUTH.value
ENROL, CHANGE_CURRENT, CHANGE_NEW = Purpose.ENROL.value, Purpose.CHANGE_CURRENT.value, Purpose.CHANGE_NEW.value
# Texts to a number its owner has not proved yet: they spend their own per-number budget.
UNVERIFIED_NUMBER_PURPOSES = frozenset({ENROL, CHANGE_NEW})
NEW_NUMBER = "new_number"  # between the two codes of a number change

# Audit event types (stable codes for tests and the Security Log).
SENT = "mfa.sms.sent"
SEND_FAILED = "mfa.sms.send_failed"
LIMITED = "mfa.sms.limited"
ENABLED = "mfa.sms.enabled"
NUMBER_CHANGED = "mfa.sms.number_changed"
CURRENT_NUMBER_CONFIRMED = "mfa.sms.current_number_confirmed"
DISABLED = "mfa.sms.disabled"
VERIFY_FAILED = "mfa.sms.verify_failed"

SETUP_SESSION_KEY = "mfa_sms_setup"
REAUTH_NONCE_SESSION_KEY = "mfa_sms_reauth_nonce"
# After a failed send, refreshing the page must not hammer the gateway: the
# failure is remembered (in the cache, not the database) and the person
# presses "Resend code" to try again.
FAILURE_MARK_SECONDS = 10 * 60

CHECK_ERRORS = {
    "invalid_format": gettext_lazy("Enter the 6-digit code from the text message."),
    "no_code": gettext_lazy("No code was sent for this step. Press “Resend code” to get one."),
    "used": gettext_lazy("This code was already used. Press “Resend code” to get a new one."),
    "expired": gettext_lazy("This code has expired. Press “Resend code” to get a new one."),
    "dead": gettext_lazy("Too many wrong codes: this code no longer works. Press “Resend code” to get a new one."),
}


# --------------------------------------------------------------------------
# Sending


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one request for a text. ``error`` is a stable code."""

    sent: bool
    error: str = ""
    message: str = ""
    retry_after: int = 0
    queued: bool = False  # goes out when the caller's transaction commits
    about_number: bool = False  # the number itself was refused (show it on the number field)


@dataclass
class _Delivery:
    """State handed to the after-commit send, and its outcome once it ran."""

    request: HttpRequest | None
    user: object
    challenge_id: int
    new_hash: str
    previous: dict | None
    purpose: str
    text: TextMessage
    reservation: limits.Reservation
    failure_key: str
    outcome: SendOutcome | None = field(default=None)


def send_code(
    request: HttpRequest, *, user, purpose: str, nonce: str, number: str, device: SMSDevice | None = None
) -> SendOutcome:
    """Issue a new code for one step and text it once the transaction commits.

    A new code replaces the step's previous one; while that one was still
    usable its failure count carries over, so resending never buys more tries.
    """
    binding = codes.binding_for(purpose, nonce)
    reservation = limits.reserve(
        user_id=user.pk, binding=binding, number=number, ip=rate_limit_network(request),
        agency_ids=_agency_ids(user), number_verified=purpose not in UNVERIFIED_NUMBER_PURPOSES,
    )
    if isinstance(reservation, limits.Refusal):
        audit.record(request, LIMITED, actor=_actor(request, user), target=user, method=METHOD_KEY,
                     data={"limit": reservation.error, "retry_after": reservation.retry_after, "purpose": purpose})
        return SendOutcome(sent=False, error=reservation.error, message=reservation.message,
                           retry_after=reservation.retry_after)
    try:
        delivery = _store_code(request, user=user, purpose=purpose, binding=binding, number=number, device=device,
                               code=codes.generate_code(), reservation=reservation)
    except IntegrityError:  # the same step's first code, issued twice at once: one wins
        reservation.release()
        return SendOutcome(sent=False, error="failed", message=GatewayError("failed").message)
    except BaseException:
        reservation.release()
        raise
    if delivery.outcome is None:
        return SendOutcome(sent=True, queued=True)
    return delivery.outcome


def _store_code(request, *, user, purpose, binding, number, device, code, reservation) -> _Delivery:
    now = clock.now()
    new_hash = codes.code_hash(user_id=user.pk, purpose=purpose, binding=binding, code=code)
    with transaction.atomic():
        # Finished or abandoned steps leave a row each; keep the table small.
        SMSChallenge.objects.filter(user=user, expires_at__lt=now - timedelta(days=1)).delete()
        row = SMSChallenge.objects.select_for_update().filter(user=user, purpose=purpose, binding=binding).first()
        previous = _snapshot(row)
        if row is None:
            row = SMSChallenge(user=user, purpose=purpose, binding=binding, sends=0)
        elif not _is_live(row, now):
            row.failures = 0  # a dead, used or expired code's count does not carry over
        row.device, row.number, row.code_hash, row.used_at = device, number, new_hash, None
        row.issued_at, row.expires_at = now, now + timedelta(seconds=app_settings.CODE_VALIDITY)
        row.sends += 1
        row.save()
        delivery = _Delivery(
            request=request, user=user, challenge_id=row.pk, new_hash=new_hash, previous=previous, purpose=purpose,
            text=TextMessage(to=number, body=codes.message_body(code=code, host=_origin_host(request))),
            reservation=reservation, failure_key=_failure_key(user.pk, binding),
        )
        # Texting inside the transaction could send a code that a rollback
        # then forgets; after commit, the code the person gets always exists.
        transaction.on_commit(lambda: _deliver(delivery))
    return delivery


_SNAPSHOT_FIELDS = ("device_id", "number", "code_hash", "issued_at", "expires_at", "failures", "sends", "used_at")


def _snapshot(row: SMSChallenge | None) -> dict | None:
    return None if row is None else {name: getattr(row, name) for name in _SNAPSHOT_FIELDS}


def _deliver(delivery: _Delivery) -> None:
    """Send the text; on failure put everything back as it was before the request."""
    try:
        receipt = get_gateway().send(delivery.text)
    except GatewayError as error:
        logger.warning("SMS not sent: %s %s", error.code, error.detail)
        _fail(delivery, error)
        return
    except Exception as exc:  # noqa: BLE001 - a gateway bug must not leave a half-issued code
        logger.error("SMS gateway crashed: %s", type(exc).__name__)  # its message may quote the text
        _fail(delivery, GatewayError("failed", detail={"exception": type(exc).__name__}))
        return
    cache.delete(delivery.failure_key)
    audit.record(delivery.request, SENT, actor=_actor(delivery.request, delivery.user), target=delivery.user,
                 method=METHOD_KEY, data={"to": mask_number(delivery.text.to), "purpose": delivery.purpose,
                                          "gateway": receipt.gateway, "reference": receipt.reference})
    delivery.outcome = SendOutcome(sent=True)


def _fail(delivery: _Delivery, error: GatewayError) -> None:
    _undo(delivery)
    cache.set(delivery.failure_key, error.code, timeout=FAILURE_MARK_SECONDS)
    audit.record(delivery.request, SEND_FAILED, actor=_actor(delivery.request, delivery.user),
                 target=delivery.user, method=METHOD_KEY,
                 data={"error": error.code, "purpose": delivery.purpose, "to": mask_number(delivery.text.to),
                       **error.detail})
    delivery.outcome = SendOutcome(sent=False, error=error.code, message=error.message,
                                   about_number=error.about_number)


def _undo(delivery: _Delivery) -> None:
    """Restore the step's previous code (or remove the new row) and give the limit slots back."""
    delivery.reservation.release()
    rows = SMSChallenge.objects.filter(pk=delivery.challenge_id, code_hash=delivery.new_hash)
    if delivery.previous is None:
        rows.delete()
    else:
        rows.update(**delivery.previous)


def _is_live(row: SMSChallenge, now) -> bool:
    return row.used_at is None and row.failures < app_settings.MAX_ATTEMPTS and now < row.expires_at


def _agency_ids(user) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("agency_id", flat=True))


def _actor(request: HttpRequest | None, user):
    """The signed-in person, or the user being signed in (step 2 has no signed-in user yet)."""
    current = getattr(request, "user", None)
    return current if current is not None and current.is_authenticated else user


def _origin_host(request: HttpRequest) -> str:
    if app_settings.ORIGIN_HOST:
        return app_settings.ORIGIN_HOST
    domain, _port = split_domain_port(request.get_host())
    return domain or "localhost"


def _failure_key(user_id: int, binding: str) -> str:
    return f"mfa-sms-failed:{user_id}:{binding[:32]}"


def resend_wait(user_id: int, purpose: str, nonce: str) -> int:
    """Return the seconds before "Resend code" may text this step again."""
    return limits.cooldown().remaining(limits.cooldown_key(user_id, codes.binding_for(purpose, nonce)))


def recent_send_failure(user_id: int, purpose: str, nonce: str) -> str:
    """Return the error code of this step's last failed send, if it failed recently."""
    return cache.get(_failure_key(user_id, codes.binding_for(purpose, nonce))) or ""


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
    return SMSChallenge.objects.filter(user=user, purpose=purpose, binding=codes.binding_for(purpose, nonce)).first()


def challenge_state(challenge: SMSChallenge | None) -> str:
    """Return "none", "live", "used", "dead" or "expired" for a step's code."""
    if challenge is None:
        return "none"
    if challenge.used_at is not None:
        return "used"
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

    A sign-in code is bound to the attempt (accounts.signin), so it cannot
    finish another sign-in; a re-authentication code to a nonce of this
    session, renewed after each success.
    """
    from accounts.signin import pending_attempt_id

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


# --------------------------------------------------------------------------
# Set-up, number change and disabling (all behind step-up re-authentication)


@dataclass(frozen=True)
class StepResult:
    ok: bool
    message: str = ""
    error: str = ""
    next_step: str = ""  # "done" or "new_number"


def setup_state(request: HttpRequest) -> dict | None:
    """Return the set-up or number change in progress in this session, if any."""
    state = request.session.get(SETUP_SESSION_KEY)
    return state if isinstance(state, dict) and state.get("stage") in _STAGES else None


_STAGES = {ENROL, CHANGE_CURRENT, NEW_NUMBER, CHANGE_NEW}


def _save_state(request: HttpRequest, **state) -> dict:
    request.session[SETUP_SESSION_KEY] = state
    return state


def cancel_setup(request: HttpRequest | None) -> None:
    if request is not None and hasattr(request, "session"):
        request.session.pop(SETUP_SESSION_KEY, None)


def start_enrolment(request: HttpRequest, *, user, number: str) -> SendOutcome:
    """Text a code to the number being set up; it becomes active once the code is typed."""
    if active_device(user) is not None:
        return SendOutcome(sent=False, error="already_enabled", message=_("Text Messages is already set up."))
    state = _save_state(request, stage=ENROL, nonce=codes.new_nonce(), number=number,
                        started_at=clock.timestamp())
    outcome = send_code(request, user=user, purpose=ENROL, nonce=state["nonce"], number=number)
    if not outcome.sent:
        cancel_setup(request)
    return outcome


def start_number_change(request: HttpRequest, *, user) -> SendOutcome:
    """First step of a change: prove the current number still reaches this person."""
    device = active_device(user)
    if device is None:
        return SendOutcome(sent=False, error="no_device", message=_("Text Messages is not set up."))
    state = _save_state(request, stage=CHANGE_CURRENT, nonce=codes.new_nonce(), number=device.number,
                        started_at=clock.timestamp())
    outcome = send_code(request, user=user, purpose=CHANGE_CURRENT, nonce=state["nonce"],
                        number=device.number, device=device)
    if not outcome.sent:
        cancel_setup(request)
    return outcome


def new_number_allowed(request: HttpRequest) -> bool:
    """True while the current number was confirmed recently enough to pick a new one."""
    state = setup_state(request)
    return bool(
        state and state["stage"] in (NEW_NUMBER, CHANGE_NEW)
        and clock.timestamp() - state.get("current_confirmed_at", 0) < app_settings.CHANGE_NUMBER_WINDOW
    )


def submit_new_number(request: HttpRequest, *, user, number: str) -> SendOutcome:
    """Second step of a change: text a code to the new number."""
    device = active_device(user)
    if device is None or not new_number_allowed(request):
        return SendOutcome(sent=False, error="not_allowed",
                           message=_("Confirm your current number first."))
    if number == device.number:
        return SendOutcome(sent=False, error="same_number", about_number=True,
                           message=_("This is already your number. Enter the new one."))
    confirmed_at = setup_state(request)["current_confirmed_at"]
    state = _save_state(request, stage=CHANGE_NEW, nonce=codes.new_nonce(), number=number,
                        current_confirmed_at=confirmed_at, started_at=clock.timestamp())
    outcome = send_code(request, user=user, purpose=CHANGE_NEW, nonce=state["nonce"], number=number,
                        device=device)
    if not outcome.sent:
        _save_state(request, stage=NEW_NUMBER, nonce="", current_confirmed_at=confirmed_at,
                    started_at=clock.timestamp())
    return outcome


def resend_setup_code(request: HttpRequest, *, user) -> SendOutcome:
    """"Resend code" on the set-up page: a new code for the same step and number."""
    state = setup_state(request)
    if state is None or state["stage"] == NEW_NUMBER:
        return SendOutcome(sent=False, error="no_setup", message=_("Start again from the Text Messages page."))
    device = active_device(user) if state["stage"] != ENROL else None
    return send_code(request, user=user, purpose=state["stage"], nonce=state["nonce"], number=state["number"],
                     device=device)


def confirm_setup_code(request: HttpRequest, *, user, code: str) -> StepResult:
    """Check the code of the step in progress and act on it."""
    state = setup_state(request)
    if state is None or state["stage"] == NEW_NUMBER:
        return StepResult(ok=False, error="no_setup", message=_("Start again from the Text Messages page."))
    # A code to the current number must still match the active device's number;
    # a code to a new number is checked against the number it was sent to.
    device = active_device(user) if state["stage"] == CHANGE_CURRENT else None
    result = check_code(user=user, purpose=state["stage"], nonce=state["nonce"], code=code, device=device)
    if not result.ok:
        if result.error != "invalid_format":
            audit.record(request, VERIFY_FAILED, target=user, method=METHOD_KEY,
                         data={"purpose": state["stage"], "error": result.error, "tries_left": result.tries_left})
        return StepResult(ok=False, error=result.error, message=result.message)
    finish = {
        ENROL: _finish_enrolment,
        CHANGE_CURRENT: _finish_current_number,
        CHANGE_NEW: _finish_new_number,
    }[state["stage"]]
    return finish(request, user=user, challenge=result.challenge)


def _finish_enrolment(request: HttpRequest, *, user, challenge: SMSChallenge) -> StepResult:
    try:
        with transaction.atomic():
            device = SMSDevice(user=user, name=str(_("Text Messages")), number=challenge.number, confirmed=True)
            device.full_clean(exclude=["user"])
            device.save()
            audit.record(request, ENABLED, target=user, method=METHOD_KEY, data={"to": device.masked_number})
            notify.send(user, "mfa/sms/email/enabled", {"masked_number": device.masked_number})
    except IntegrityError:  # a second tab finished first
        cancel_setup(request)
        return StepResult(ok=False, error="already_enabled", message=_("Text Messages is already set up."))
    cancel_setup(request)
    return StepResult(ok=True, next_step="done", message=_("Text Messages is on. We will text you a code when you sign in."))


def _finish_current_number(request: HttpRequest, *, user, challenge: SMSChallenge) -> StepResult:
    _save_state(request, stage=NEW_NUMBER, nonce="", current_confirmed_at=clock.timestamp(),
                started_at=clock.timestamp())
    audit.record(request, CURRENT_NUMBER_CONFIRMED, target=user, method=METHOD_KEY,
                 data={"to": mask_number(challenge.number)})
    return StepResult(ok=True, next_step=NEW_NUMBER, message=_("Current number confirmed. Now enter the new number."))


def _finish_new_number(request: HttpRequest, *, user, challenge: SMSChallenge) -> StepResult:
    with transaction.atomic():
        device = SMSDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            cancel_setup(request)
            return StepResult(ok=False, error="no_device", message=_("Text Messages is not set up."))
        old_masked = device.masked_number
        device.number = challenge.number
        device.full_clean(exclude=["user"])
        device.save(update_fields=["number"])
        # Codes in flight went to the old number; they must not finish anything now.
        SMSChallenge.objects.filter(user=user).exclude(pk=challenge.pk).delete()
        audit.record(request, NUMBER_CHANGED, target=user, method=METHOD_KEY,
                     data={"from": old_masked, "to": device.masked_number})
        notify.send(user, "mfa/sms/email/number_changed",
                    {"old_masked_number": old_masked, "masked_number": device.masked_number})
    cancel_setup(request)
    return StepResult(ok=True, next_step="done", message=_("Your Text Messages number was changed."))


def disable(request: HttpRequest, *, user, actor=None) -> StepResult:
    """Remove the method, after the one policy check every "Disable" goes through.

    Policy check, removal, backup-code clean-up, audit and email happen in
    one transaction, so a refusal or an error changes nothing.
    """
    actor = actor or _actor(request, user)
    with transaction.atomic():
        # Lock the user row so two "Disable" requests for different methods
        # cannot both pass the policy check and leave no method at all.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        refusal = policy.disable_refusal(user, METHOD_KEY)
        if refusal:
            return StepResult(ok=False, error="refused", message=refusal)
        device = SMSDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            return StepResult(ok=False, error="no_device", message=_("Text Messages is not set up."))
        masked = device.masked_number
        remove_all(user)
        if user.preferred_mfa_method == METHOD_KEY:
            user.preferred_mfa_method = ""
            user.save(update_fields=["preferred_mfa_method"])
        audit.record(request, DISABLED, actor=actor, target=user, method=METHOD_KEY, data={"to": masked})
        notify.send(user, "mfa/sms/email/disabled", {"masked_number": masked})
        mfa_flows.destroy_fallbacks_if_no_primary(request, user=user, actor=actor)
    cancel_setup(request)
    return StepResult(ok=True, next_step="done", message=_("Text Messages was disabled."))


def remove_all(user) -> int:
    """Delete the user's number and every code in flight; return how many numbers."""
    with transaction.atomic():
        SMSChallenge.objects.filter(user=user).delete()
        deleted, _detail = SMSDevice.objects.filter(user=user).delete()
    return deleted
