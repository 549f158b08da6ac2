"""The page a sign-in with a temporary access pass lands on."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.reauth import reauthentication_required
from mfa import policy
from mfa.access_pass import gate
from mfa.registry import active_methods


@reauthentication_required
@require_GET
def set_up_view(request: HttpRequest) -> HttpResponse:
    """"Set up a new sign-in method": the primary methods the policy allows, each with its set-up link.

    Behind step-up like every /mfa/ page; a session held by its pass opens it
    without one (mfa.access_pass.gate), and once the new method exists the
    page has nothing left to ask and sends the user on.
    """
    if not gate.set_up_pending(request):
        return redirect("accounts:profile")
    active = set(active_methods(request.user))
    methods = [
        {"key": method.key, "label": method.label, "url": reverse(method.manage_url_name),
         "has_it": method in active}
        for method in policy.allowed_methods(request.user) if method.is_primary and method.manage_url_name
    ]
    methods.sort(key=lambda row: row["has_it"])  # the ones they do not have yet first
    return render(request, "mfa/access_pass/set_up.html", {"methods": methods})
