"""Setting up, changing and disabling Text Messages (all behind step-up re-authentication).

Codes and their texts are mfa.sms.challenges; the SMSMethod (sign-in and
step-up) calls that module. Each change here is audited (accounts.audit) and
emailed (accounts.notify) in its own transaction.
"""
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts import audit, notify, reauth
from ctm_auth import clock
from mfa import flows as mfa_flows
from mfa import policy
from mfa.sms import codes
from mfa.sms.app_settings import app_settings
from mfa.sms.challenges import (
    CHANGE_CURRENT,
    CHANGE_NEW,
    ENROL,
    SendOutcome,
    acting_user,
    active_device,
    check_code,
    send_code,
)
from mfa.sms.delivery import METHOD_KEY
from mfa.sms.models import SMSChallenge, SMSDevice
from mfa.sms.phone import mask_number

NEW_NUMBER = "new_number"  # between the two codes of a number change

# Audit event types (stable codes for tests and the Security Log).
ENABLED = "mfa.sms.enabled"
NUMBER_CHANGED = "mfa.sms.number_changed"
CURRENT_NUMBER_CONFIRMED = "mfa.sms.current_number_confirmed"
DISABLED = "mfa.sms.disabled"
VERIFY_FAILED = "mfa.sms.verify_failed"

SETUP_SESSION_KEY = "mfa_sms_setup"


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
    reauth.mark_second_factor_proven(request, user)  # the code just texted to it proves the new number
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
    actor = actor or acting_user(request, user)
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
