"""The one guard every method's set-up pages share: the agency policy decides what may be added."""
import functools
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from mfa import policy


def set_up_allowed(method_key: str, *, editing: Callable[[HttpRequest], bool] | None = None):
    """Refuse a set-up view of ``method_key`` when the user's agency policy does not allow the method.

    The user lands on the Profile's Multi-Factor Methods with the reason
    ("Acme Agency does not allow Text Messages. Set up …") and the view never
    runs, so nothing is created. ``editing(request)`` True lets the view run
    for a method the user already has: Edit and Disable stay possible.

    List it above @reauthentication_required: a refused set-up is refused at
    once, without asking for the password first (the gate's attributes are
    carried over by functools.wraps).
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.is_authenticated and not (editing and editing(request)):
                refusal = policy.set_up_refusal(request.user, method_key)
                if refusal:
                    messages.error(request, refusal)
                    return redirect(f"{reverse('accounts:profile')}#multi-factor-methods")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
