"""Multi-Factor Methods pages shared by every method. Each method has its own views."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.reauth import reauthentication_required
from accounts.selectors import profile_methods
from mfa import flows, policy
from mfa.challenge import refused_method_message
from mfa.forms import DefaultMethodForm
from mfa.registry import default_method


@reauthentication_required
@require_http_methods(["GET", "POST"])
def default_method_view(request: HttpRequest) -> HttpResponse:
    """"Choose which authentication method to use" at sign-in, beside every method's Add/Edit.

    The seed's step 3 sends a user with no method here too, so the page
    lists the methods to set up rather than sending them back.
    """
    # Only the methods the agency policy allows: a refused one is never asked for first.
    primaries = [method for method in policy.allowed_active_methods(request.user) if method.is_primary]
    form = None
    if primaries:
        current = default_method(request.user, primaries)
        form = DefaultMethodForm(primaries, request.POST or None, initial={"method": current.key},
                                 refusal=lambda key: refused_method_message(request.user, key))
    if form is not None and request.method == "POST" and form.is_valid():
        flows.set_default_method(request, user=request.user, method_key=form.cleaned_data["method"])
        messages.success(request, _("Your sign-in method was updated."))
        return redirect("accounts:profile")
    return render(request, "mfa/default_method.html", {"form": form, "methods": profile_methods(request.user)})
