"""Keep a half-signed-in session on sign-in step 2; django-otp's middleware, made lazy."""
import functools
from collections.abc import Callable

import django_otp.middleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp import DEVICE_ID_SESSION_KEY

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


class OTPMiddleware(django_otp.middleware.OTPMiddleware):
    """django-otp's middleware, reading the device a session was verified with only when asked.

    django-otp loads that device on every request, for ``user.is_verified()``
    and ``user.otp_device``; this product keeps its own proof of the second
    factor in the session (accounts.reauth), so most pages never ask, and
    paid a query each for nothing. ``is_verified()`` still gives django-otp's
    answer, with its checks (the device is the user's and confirmed): its
    first call loads the device and sets ``otp_device``, which is then there
    as django-otp sets it (django_otp.login sets it too). Nothing in this
    product reads ``otp_device`` without calling ``is_verified()`` first.
    """

    def _verify_user_sync(self, request, user):
        if not user.is_authenticated or DEVICE_ID_SESSION_KEY not in request.session:
            self._init_user_fields(user)  # not verified: nothing to load
            return user
        user.is_verified = functools.partial(self._load_device, request, user)
        return user

    def _load_device(self, request, user) -> bool:
        """Load the device now, as django-otp would have (its is_verified() replaces this one), and answer."""
        super()._verify_user_sync(request, user)
        return user.is_verified()
