"""Text Messages pages (Add/Edit). Every one is behind step-up re-authentication.

Views parse input, call one flow, and render or redirect.
"""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import pending_sign_in
from accounts.reauth import reauthentication_required
from mfa import flows as mfa_flows
from mfa import policy
from mfa.decorators import set_up_allowed
from mfa.registry import get_method
from mfa.sms import challenges, flows
from mfa.sms.challenges import ENROL
from mfa.sms.forms import CodeForm, PhoneNumberForm
from mfa.sms.phone import format_number, mask_number
from mfa.sms.selectors import default_region


def _has_device(request: HttpRequest) -> bool:
    """Editing (Change number, Disable) a number the user has stays possible whatever the policy."""
    return flows.active_device(request.user) is not None


def _changing_number(request: HttpRequest) -> bool:
    """True unless the step in progress would set Text Messages up anew."""
    state = flows.setup_state(request)
    return _has_device(request) and (state is None or state["stage"] != ENROL)


@set_up_allowed(flows.METHOD_KEY, editing=_has_device)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def manage_view(request: HttpRequest) -> HttpResponse:
    """Add/Edit: set up a number, or change or disable the active one."""
    device = flows.active_device(request.user)
    if request.method == "POST" and device is not None:
        return redirect("mfa:sms:manage")  # a number is set: changes go through "Change number"
    form = PhoneNumberForm(request.POST if request.method == "POST" else None, region=default_region(request))
    if request.method == "POST" and form.is_valid():
        outcome = flows.start_enrolment(request, user=request.user, number=form.cleaned_data["number"])
        if outcome.sent:
            return redirect("mfa:sms:verify")
        form.add_error("number" if outcome.about_number else None, outcome.message)
    return render(request, "mfa/sms/manage.html", {
        "device": device, "form": form, "setup": flows.setup_state(request),
        "recommended_url": _recommended_method_url(),
    })


def _recommended_method_url() -> str:
    """Return the Add/Edit page of Google Authenticator, which the risk notice recommends."""
    method = get_method("totp")
    return reverse(method.manage_url_name) if method and method.manage_url_name else ""


@reauthentication_required(resume_at="mfa:sms:manage", action=gettext_lazy("Change number"))
@require_POST
def change_start_view(request: HttpRequest) -> HttpResponse:
    """"Change number": first a code to the current number."""
    outcome = flows.start_number_change(request, user=request.user)
    if outcome.sent:
        return redirect("mfa:sms:verify")
    messages.error(request, outcome.message)
    return redirect("mfa:sms:manage")


@reauthentication_required
@require_http_methods(["GET", "POST"])
def change_number_view(request: HttpRequest) -> HttpResponse:
    """Second part of a change, once the current number is confirmed: the new number."""
    if not flows.new_number_allowed(request):
        messages.info(request, _("Confirm your current number first: press “Change number” again."))
        return redirect("mfa:sms:manage")
    form = PhoneNumberForm(request.POST if request.method == "POST" else None, region=default_region(request))
    if request.method == "POST" and form.is_valid():
        outcome = flows.submit_new_number(request, user=request.user, number=form.cleaned_data["number"])
        if outcome.sent:
            return redirect("mfa:sms:verify")
        form.add_error("number" if outcome.about_number else None, outcome.message)
    return render(request, "mfa/sms/change_number.html", {"form": form, "device": flows.active_device(request.user)})


@set_up_allowed(flows.METHOD_KEY, editing=_changing_number)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """Type the texted code of the set-up or change step in progress (or ask for another)."""
    state = flows.setup_state(request)
    if state is not None and state["stage"] == flows.NEW_NUMBER:
        return redirect("mfa:sms:change_number")
    if state is None:
        messages.info(request, _("There is no set-up in progress. Start again."))
        return redirect("mfa:sms:manage")
    if request.method == "POST" and "resend" in request.POST:
        outcome = flows.resend_setup_code(request, user=request.user)
        if outcome.sent:
            messages.success(request, _("We sent a new code."))
        else:
            messages.error(request, outcome.message)
        return redirect("mfa:sms:verify")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        had_primary = policy.has_allowed_primary_method(request.user)
        result = flows.confirm_setup_code(request, user=request.user, code=form.cleaned_data["code"])
        if result.ok:
            messages.success(request, result.message)
            return redirect(_page_after_step(request, result, had_primary=had_primary))
        form.add_error("code", result.message)
    shown = mask_number(state["number"]) if state["stage"] == flows.CHANGE_CURRENT else format_number(state["number"])
    return render(request, "mfa/sms/verify.html", {
        "form": form, "stage": state["stage"], "number": shown,
        "cooldown": challenges.resend_wait(request.user.pk, state["stage"], state["nonce"]),
        "delivery": challenges.status_for_step(request.user, state["stage"], state["nonce"]),
        "status_url": f"{reverse('sms_delivery_status')}?step=setup",
    })


def _page_after_step(request: HttpRequest, result: flows.StepResult, *, had_primary: bool) -> str:
    """Return the new number's page in a change; after a set-up, the shared next page (new backup codes, first time)."""
    if result.next_step == flows.NEW_NUMBER:
        return reverse("mfa:sms:change_number")
    return mfa_flows.page_after_set_up(request, user=request.user, had_primary=had_primary)


@reauthentication_required(resume_at="mfa:sms:verify", action=gettext_lazy("Cancel"))
@require_POST
def cancel_view(request: HttpRequest) -> HttpResponse:
    """Abandon a set-up or change; the active number (if any) stays as it was."""
    flows.cancel_setup(request)
    messages.info(request, _("Cancelled. Nothing was changed."))
    return redirect("mfa:sms:manage")


@reauthentication_required(action=gettext_lazy("Disable"))
@require_http_methods(["GET", "POST"])
def disable_view(request: HttpRequest) -> HttpResponse:
    """Confirm, then remove Text Messages."""
    if flows.active_device(request.user) is None:
        return redirect("mfa:sms:manage")
    if request.method == "POST":
        result = flows.disable(request, user=request.user)
        if result.ok:
            messages.success(request, result.message)
            return redirect("accounts:profile")
        refusal = result.message
    else:
        refusal = policy.disable_refusal(request.user, flows.METHOD_KEY)
    return render(request, "mfa/sms/disable.html", {"refusal": refusal})


@never_cache
@require_GET
def delivery_status_view(request: HttpRequest) -> JsonResponse:
    """Where the text of this session's current step is, for the page's script to show.

    ``?step=`` names the step: "sign_in" (step 2, before the user is signed
    in), "reauth" or "setup". It reads only this session's own step and says
    nothing but the state and its sentence ("none" when there is no such step).
    """
    user, purpose, nonce = _step_of_session(request, request.GET.get("step", ""))
    status = challenges.status_for_step(user, purpose, nonce) if user is not None else challenges.NO_TEXT
    return JsonResponse({"state": status.state, "message": status.message})


delivery_status_view.allowed_during_partial_sign_in = True


def _step_of_session(request: HttpRequest, step: str) -> tuple[object | None, str, str]:
    if step == challenges.SIGN_IN:
        return pending_sign_in.pending_user(request), step, pending_sign_in.pending_attempt_id(request)
    if not request.user.is_authenticated:
        return None, "", ""
    if step == challenges.REAUTH:
        return request.user, step, challenges.challenge_nonce(request, step)
    state = flows.setup_state(request) if step == "setup" else None
    if state is None or state["stage"] == flows.NEW_NUMBER:
        return None, "", ""
    return request.user, state["stage"], state["nonce"]
