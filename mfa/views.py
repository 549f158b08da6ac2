"""Multi-Factor Methods pages shared by every method. Each method has its own views."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.reauth import reauthentication_required
from mfa import flows
from mfa.forms import DefaultMethodForm
from mfa.registry import active_methods, default_method


@reauthentication_required
@require_http_methods(["GET", "POST"])
def default_method_view(request: HttpRequest) -> HttpResponse:
    """"Choose which authentication method to use" at sign-in."""
    methods = active_methods(request.user)
    if not methods:
        messages.info(request, _("Set up a method first."))
        return redirect("accounts:profile")
    current = default_method(request.user, methods)
    form = DefaultMethodForm(methods, request.POST or None, initial={"method": current.key})
    if request.method == "POST" and form.is_valid():
        flows.set_default_method(request, user=request.user, method_key=form.cleaned_data["method"])
        messages.success(request, _("Your sign-in method was updated."))
        return redirect("accounts:profile")
    return render(request, "mfa/default_method.html", {"form": form})
