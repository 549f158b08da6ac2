"""Passkeys and security keys pages. Every one is behind step-up re-authentication.

Views parse input, call one flow, and render or redirect.
"""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauth import reauthentication_required
from mfa import flows as mfa_flows
from mfa import policy
from mfa.decorators import set_up_allowed
from mfa.webauthn import flows
from mfa.webauthn.forms import AddKeyForm, RenameKeyForm
from mfa.webauthn.models import WebAuthnCredential


def _manage_page(request: HttpRequest, *, add_form: AddKeyForm | None = None,
                 rename_errors: dict | None = None, status: int = 200) -> HttpResponse:
    # Keys the user has stay listed (rename, remove) when the policy refuses passkeys; adding does not.
    refusal = policy.set_up_refusal(request.user, flows.METHOD_KEY)
    return render(request, "mfa/webauthn/manage.html", {
        "keys": flows.keys_of(request.user),
        "add_form": add_form or AddKeyForm(),
        # Issued on every render: a page's options hold a fresh challenge, spent by its answer.
        "registration_options": None if refusal else flows.registration_options(request, user=request.user),
        "add_refusal": refusal,
        "rename_errors": rename_errors or {},
    }, status=status)


def _has_keys(request: HttpRequest) -> bool:
    return bool(flows.keys_of(request.user))


@set_up_allowed(flows.METHOD_KEY, editing=_has_keys)
@reauthentication_required
@require_GET
def manage_view(request: HttpRequest) -> HttpResponse:
    """Add/Edit: the user's keys (name, added, last used, synced or not), add, rename, remove."""
    return _manage_page(request)


@set_up_allowed(flows.METHOD_KEY)
@reauthentication_required(resume_at="mfa:webauthn:manage", action=gettext_lazy("Add a passkey or security key"))
@sensitive_post_parameters("credential")
@require_POST
def add_view(request: HttpRequest) -> HttpResponse:
    form = AddKeyForm(request.POST)
    if form.is_valid():
        had_primary = policy.has_allowed_primary_method(request.user)
        outcome = flows.add_key(request, user=request.user, name=form.cleaned_data["name"],
                                answer=form.cleaned_data["credential"])
        if outcome.ok:
            messages.success(request, _("“%(name)s” was added. You can use it to sign in.") % {"name": outcome.key.name})
            return redirect(mfa_flows.page_after_set_up(request, user=request.user, had_primary=had_primary))
        form.add_error(outcome.field, outcome.message)
    return _manage_page(request, add_form=form, status=400)


@reauthentication_required(resume_at="mfa:webauthn:manage", action=gettext_lazy("Rename"))
@require_POST
def rename_view(request: HttpRequest, key_id: int) -> HttpResponse:
    form = RenameKeyForm(request.POST)
    if form.is_valid():
        outcome = flows.rename_key(request, user=request.user, key_id=key_id, name=form.cleaned_data["name"])
        if outcome.ok:
            messages.success(request, _("The key is now called “%(name)s”.") % {"name": outcome.key.name})
            return redirect("mfa:webauthn:manage")
        if outcome.error == "unknown_key":
            # Not a row of this page (another account's key, or removed in another tab): an
            # error beside it would show nowhere, so say it as remove_view does.
            messages.info(request, outcome.message)
            return redirect("mfa:webauthn:manage")
        error = outcome.message
    else:
        error = form.errors["name"][0]
    return _manage_page(request, rename_errors={key_id: error}, status=400)


@reauthentication_required(resume_at="mfa:webauthn:manage", action=gettext_lazy("Remove"))
@require_http_methods(["GET", "POST"])
def remove_view(request: HttpRequest, key_id: int) -> HttpResponse:
    """Confirm, then remove one key. The last one goes only if the agency's policy allows."""
    key = WebAuthnCredential.objects.filter(user=request.user, pk=key_id).first()
    if key is None:
        messages.info(request, _("That key is not one of yours, or it was removed already."))
        return redirect("mfa:webauthn:manage")
    if request.method == "POST":
        refusal = flows.remove_key(request, user=request.user, key_id=key.pk)
        if refusal is None:
            messages.success(request, _("“%(name)s” was removed. It can no longer sign in.") % {"name": key.name})
            return redirect("mfa:webauthn:manage" if flows.keys_of(request.user) else "accounts:profile")
    else:
        refusal = flows.remove_refusal(request.user, key.pk)
    return render(request, "mfa/webauthn/remove.html", {
        "key": key, "refusal": refusal, "last": len(flows.keys_of(request.user)) == 1,
    })
