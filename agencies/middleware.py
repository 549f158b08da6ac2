"""Enforce the agencies' "require two-factor" policy on every URL, admin included."""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from agencies.app_settings import app_settings
from agencies.policy import requirement_for
from ctm_auth.routing import is_static_path, resolve_or_none


class TwoFactorPolicyMiddleware:
    """Send a bound user without a primary method to the set-up page.

    During a grace period nothing is blocked; the requirement is put on the
    request so the banner can say how many days are left.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.two_factor_requirement = None
        if request.user.is_authenticated:
            requirement = requirement_for(request.user)
            request.two_factor_requirement = requirement
            if requirement.enforced() and not self._allowed(request.path_info):
                return redirect("accounts:two_factor_required")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        """Sign-out, re-authentication, the set-up page and the method set-up pages."""
        if is_static_path(path):
            return True
        match = resolve_or_none(path)
        if match is None:
            return False
        if match.view_name in app_settings.POLICY_ALLOWED_URL_NAMES:
            return True
        return bool(match.namespaces) and match.namespaces[0] in app_settings.POLICY_ALLOWED_NAMESPACES
