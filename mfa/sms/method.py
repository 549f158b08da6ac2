"""The Text Messages method as sign-in step 2 and re-authentication see it."""
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mfa.base import ChallengeContext, Method, VerifyResult
from mfa.sms import challenges, flows
from mfa.sms.app_settings import app_settings
from mfa.sms.models import SMSDevice

# The request attribute where verify() leaves the refusal the page shows in its form.
_REFUSAL_SHOWN = "_mfa_sms_refusal_shown"


class SMSMethod(Method):
    key = "sms"
    label = gettext_lazy("Text Messages")
    manage_url_name = "mfa:sms:manage"
    urls_module = "mfa.sms.urls"
    alternative_label = gettext_lazy("Text me a code")
    can_resend = True
    # Every challenge costs a text: never offered first while another
    # primary method is active, unless the user chose it.
    costs_per_challenge = True

    def all_active_devices(self, *, now=None):
        return SMSDevice.objects.filter(confirmed=True)

    def device_identity(self, device) -> str:
        """A new number is a new second factor: trust given before the change ends."""
        return f"{device.persistent_id}|{device.number}"

    def status_detail(self, user) -> str:
        device = challenges.active_device(user)
        return device.masked_number if device else ""

    def begin_challenge(self, request: HttpRequest, user, *, purpose, resend: bool = False) -> ChallengeContext:
        """Queue a text unless this step already has a usable (or deliberately dead) code.

        Refreshing the page must not cost another text: a new code goes out
        only on "Resend code", or when this step has no code yet or its last
        one was used or expired. A dead code (too many wrong tries) and a text
        that could not be sent wait for the person to press "Resend code".
        """
        device = challenges.active_device(user)
        nonce = challenges.challenge_nonce(request, purpose, create=True)
        challenge = challenges.current_challenge(user, purpose, nonce)
        outcome = None
        # Re-authentication is reached by a plain link, which another site
        # could open in the user's browser: there a text goes out only on a
        # POST (the "Text me a code" button), never on a GET.
        may_send = purpose != challenges.REAUTH or request.method == "POST"
        state = challenges.challenge_state(challenge)
        if device is not None and nonce and (resend or (may_send and state in ("none", "used", "expired"))):
            outcome = challenges.send_code(request, user=user, purpose=purpose, nonce=nonce, number=device.number,
                                           device=device)
            challenge = challenges.current_challenge(user, purpose, nonce)
            state = challenges.challenge_state(challenge)
        context = self._context(user, device, purpose, nonce, state, challenge, outcome, resend)
        if context.context["error"] and context.context["error"] == getattr(request, _REFUSAL_SHOWN, None):
            # verify() just refused the code with these very words, which the
            # page's form shows under the code: say it once, there.
            context.context["error"] = ""
        return context

    def _context(self, user, device, purpose, nonce, state, challenge, outcome, resend) -> ChallengeContext:
        masked = device.masked_number if device else ""
        delivery = challenges.delivery_status(challenge)
        error = ""
        if outcome is not None and not outcome.sent:
            error = outcome.message
        elif delivery.state == "failed":
            error = delivery.message
        elif state in ("dead", "expired"):
            error = str(challenges.CHECK_ERRORS[state])
        awaiting_request = state == "none" and outcome is None and not error
        sent_notice = _("We sent a new code to %(number)s.") if resend else _("We sent a code to %(number)s.")
        if delivery.state == "failed" or (outcome is not None and not outcome.sent):
            notice = ""  # the error says what happened; "we texted" would not be true
        elif outcome is not None and delivery.state == "sent":
            notice = sent_notice
        elif delivery.state == "sending":
            notice = _("We are sending a new code to %(number)s.") if resend else _(
                "We are sending a code to %(number)s.")
        elif awaiting_request:
            notice = _("Press \"Text me a code\" and we will text a code to %(number)s.")
        else:
            notice = _("Enter the code we texted to %(number)s.")
        return ChallengeContext(
            template_name="mfa/sms/challenge.html",
            actions_template_name="mfa/sms/_challenge_actions.html",
            notice=notice % {"number": masked} if masked else "",
            context={
                "masked_number": masked,
                "state": state,
                "awaiting_request": awaiting_request,
                "error": error,
                "delivery": delivery,
                "sent_notice": sent_notice % {"number": masked} if masked else "",
                "status_url": f"{reverse('sms_delivery_status')}?step={purpose}",
                "cooldown": challenges.resend_wait(user.pk, purpose, nonce) if nonce else 0,
                "validity_minutes": max(1, app_settings.CODE_VALIDITY // 60),
            },
        )

    def verify(self, request: HttpRequest, user, code: str, *, purpose) -> VerifyResult:
        result, device = challenges.verify_for_step(request, user=user, purpose=purpose, code=code)
        if result.ok:
            return VerifyResult(ok=True, device=device)
        setattr(request, _REFUSAL_SHOWN, result.message)
        return VerifyResult(ok=False, error=result.error, message=result.message,
                            extra={"tries_left": result.tries_left})

    def remove_all(self, user) -> int:
        return flows.remove_all(user)
