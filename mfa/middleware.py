"""Keep a half-signed-in session on sign-in step 2."""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.pending_sign_in import has_pending_sign_in, pending_user
from ctm_auth.routing import is_static_path, resolve_or_none

# Views a half-signed-in session may reach: step 2 itself and sign-out.
PARTIAL_SIGN_IN_ALLOWED = frozenset({"accounts:login_verify", "accounts:logout"})


class PartialSignInMiddleware:
    """Redirect every other URL to step 2 until the second factor is given."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not request.user.is_authenticated
            and has_pending_sign_in(request)
            and not self._allowed(request.path_info)
            # An expired half-done sign-in is dropped here (pending_user
            # cancels it), so a new sign-in form posts through instead of
            # bouncing to step 2 and back, losing what was typed.
            and pending_user(request) is not None
        ):
            return redirect("accounts:login_verify")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        if is_static_path(path):
            return True
        match = resolve_or_none(path)
        # A view may opt in: the DEBUG-only Dev SMS outbox shows the very code step 2 asks for.
        return match is not None and (
            match.view_name in PARTIAL_SIGN_IN_ALLOWED or getattr(match.func, "allowed_during_partial_sign_in", False)
        )
