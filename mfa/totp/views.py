"""Google Authenticator pages. Every one is behind step-up re-authentication.

Views parse input, call one flow, and render or redirect.
"""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauth import reauthentication_required
from mfa import flows as mfa_flows
from mfa import policy
from mfa.decorators import set_up_allowed
from mfa.totp import flows
from mfa.totp.forms import ConfirmSetupForm


def _has_device(request: HttpRequest) -> bool:
    """Editing (Replace, Disable) an authenticator the user has stays possible whatever the policy."""
    return flows.active_device(request.user) is not None


@set_up_allowed(flows.METHOD_KEY, editing=_has_device)
@reauthentication_required
@require_GET
def manage_view(request: HttpRequest) -> HttpResponse:
    """Add/Edit: set up, continue a set-up, replace or disable."""
    return render(request, "mfa/totp/manage.html", {
        "device": flows.active_device(request.user),
        "pending": flows.pending_device(request.user),
    })


def _start_label(request: HttpRequest) -> str:
    """Return the label of the Add/Edit page's button that posts to start_view."""
    return _("Replace") if flows.active_device(request.user) else _("Set up Google Authenticator")


@set_up_allowed(flows.METHOD_KEY, editing=_has_device)
@reauthentication_required(resume_at="mfa:totp:manage", action=_start_label)
@require_POST
def start_view(request: HttpRequest) -> HttpResponse:
    """Begin a set-up (or a replacement): a new secret, pending until confirmed."""
    flows.start_enrolment(request, user=request.user)
    return redirect("mfa:totp:setup")


@set_up_allowed(flows.METHOD_KEY, editing=_has_device)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def setup_view(request: HttpRequest) -> HttpResponse:
    """Show the QR code and key of the pending set-up, and confirm it with a code."""
    pending = flows.pending_device(request.user)
    # Bound on every POST, even an empty one, so a missing code gets an error.
    form = ConfirmSetupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        had_primary = policy.has_allowed_primary_method(request.user)
        outcome = flows.confirm_enrolment(request, user=request.user, setup_id=form.cleaned_data["setup_id"],
                                          code=form.cleaned_data["code"])
        if outcome.ok:
            messages.success(request, _("Google Authenticator replaced. Your old key no longer works.")
                             if outcome.replaced else _("Google Authenticator is on."))
            return redirect(mfa_flows.page_after_set_up(request, user=request.user, had_primary=had_primary))
        field = None if outcome.error in {"setup_invalid", "setup_expired"} else "code"
        form.add_error(field, outcome.message)
        pending = flows.pending_device(request.user)
    elif request.method == "GET" and pending is None:
        messages.info(request, _("There is no set-up in progress, or it expired. Start the set-up again."))
        return redirect("mfa:totp:manage")
    setup = flows.setup_details(pending, user=request.user) if pending else None
    return render(request, "mfa/totp/setup.html", {"form": form, "setup": setup})


@reauthentication_required(resume_at="mfa:totp:setup", action=gettext_lazy("Cancel set-up"))
@require_POST
def cancel_view(request: HttpRequest) -> HttpResponse:
    """Abandon the pending set-up; nothing becomes (or stops being) active."""
    flows.cancel_enrolment(request, user=request.user)
    messages.info(request, _("Set-up cancelled."))
    return redirect("mfa:totp:manage")


@reauthentication_required(action=gettext_lazy("Disable"))
@require_http_methods(["GET", "POST"])
def disable_view(request: HttpRequest) -> HttpResponse:
    """Confirm, then remove the user's Google Authenticator."""
    if flows.active_device(request.user) is None:
        return redirect("mfa:totp:manage")
    if request.method == "POST":
        refusal = flows.disable_totp(request, user=request.user)
        if refusal is None:
            messages.success(request, _("Google Authenticator is off."))
            return redirect("accounts:profile")
    else:
        refusal = policy.disable_refusal(request.user, flows.METHOD_KEY)
    return render(request, "mfa/totp/disable.html", {"refusal": refusal})
