"""Hold a session signed in with a temporary access pass on the set-up page (see mfa.access_pass.gate)."""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from mfa.access_pass import gate


class AccessPassSetUpMiddleware:
    """Send every other URL to "Set up a new sign-in method" until a new primary method exists."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (gate.SESSION_KEY in request.session and request.user.is_authenticated
                and gate.set_up_pending(request) and not gate.reachable_while_pending(request)):
            return redirect(gate.SET_UP_URL_NAME)
        return self.get_response(request)
