"""Backup Codes pages. Every one is behind step-up re-authentication (which also
adds never_cache and sensitive_post_parameters); views parse, call a flow, render."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauth import reauthentication_required
from mfa import policy
from mfa.backup_codes import flows, selectors
from mfa.backup_codes.app_settings import app_settings
from mfa.backup_codes.forms import SavedForm
from mfa.decorators import set_up_allowed

MANAGE = "mfa:backup_codes:manage"


def _has_set(request: HttpRequest) -> bool:
    """A set the user has stays viewable while the policy turns codes off (though not usable, nor renewed)."""
    return selectors.summary_for(request.user).is_set_up


@set_up_allowed(flows.METHOD_KEY, editing=_has_set)
@reauthentication_required
@require_GET
def manage_view(request: HttpRequest) -> HttpResponse:
    """Multi-Factor Methods > Backup Codes > Add/Edit."""
    return render(request, "mfa/backup_codes/manage.html", {
        "allowed": policy.set_up_refusal(request.user, flows.METHOD_KEY) is None,
        "summary": selectors.summary_for(request.user),
        "has_fresh_set": flows.fresh_set(request, request.user) is not None,
        "low_threshold": app_settings.LOW_WARNING_THRESHOLD,
    })


@set_up_allowed(flows.METHOD_KEY)
@reauthentication_required(resume_at=MANAGE, action=gettext_lazy("Generate Backup Codes"))
@require_POST
def generate_view(request: HttpRequest) -> HttpResponse:
    """"Generate Backup Codes"."""
    try:
        flows.generate_codes(request, user=request.user)
    except flows.BackupCodesError as refused:
        messages.error(request, refused.message)
        return redirect(MANAGE)
    return redirect("mfa:backup_codes:new")


@set_up_allowed(flows.METHOD_KEY)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def new_codes_view(request: HttpRequest) -> HttpResponse:
    """Show a just-generated set until the user ticks "I have saved these codes"."""
    view = flows.fresh_codes(request, request.user)
    if view is None:
        return redirect(MANAGE)
    form = SavedForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            flows.confirm_saved(request, user=request.user)
        except flows.BackupCodesError as refused:
            messages.error(request, refused.message)
            return redirect(MANAGE)
        messages.success(request, _("Your backup codes are ready. Keep them somewhere safe."))
        return redirect("accounts:profile")
    return render(request, "mfa/backup_codes/new_codes.html", {
        "view": view, "form": form, "product_name": app_settings.ISSUER,
        # A first set may be left for later (the Profile then warns); a regenerated one already replaced the old.
        "can_skip": selectors.summary_for(request.user).is_pending})


@reauthentication_required
@require_GET
def view_codes_view(request: HttpRequest) -> HttpResponse:
    """"View Backup Codes"."""
    try:
        view = flows.view_codes(request, user=request.user)
    except flows.BackupCodesError as refused:
        messages.info(request, refused.message)
        return redirect(MANAGE)
    return render(request, "mfa/backup_codes/view.html", {
        "view": view, "product_name": app_settings.ISSUER})


@reauthentication_required
@require_GET
def download_view(request: HttpRequest) -> HttpResponse:
    """The codes as a .txt attachment (never cached: the decorator adds no-store)."""
    try:
        download = flows.download_codes(request, user=request.user)
    except flows.BackupCodesError as refused:
        messages.info(request, refused.message)
        return redirect(MANAGE)
    response = HttpResponse(download.content, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, download.filename)
    return response


@set_up_allowed(flows.METHOD_KEY)
@reauthentication_required(action=gettext_lazy("Regenerate"))
@require_http_methods(["GET", "POST"])
def regenerate_view(request: HttpRequest) -> HttpResponse:
    """Confirm, then replace every code at once and show the new set."""
    summary = selectors.summary_for(request.user)
    if not summary.is_set_up:
        return redirect(MANAGE)
    if request.method == "POST":
        try:
            flows.regenerate_codes(request, user=request.user)
        except flows.BackupCodesError as refused:
            messages.error(request, refused.message)
            return redirect(MANAGE)
        return redirect("mfa:backup_codes:new")
    return render(request, "mfa/backup_codes/regenerate_confirm.html", {"summary": summary})
