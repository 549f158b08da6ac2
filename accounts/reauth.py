"""Step-up re-authentication ("sudo mode") for sensitive views.

A sensitive view asks for the password (and a second factor, when the user
has one) unless the user re-authenticated within MFA_REAUTH_WINDOW. The time
is kept in the server-side session, so the client cannot extend it.

A POST that arrives outside the window is not replayed after
re-authentication: the user comes back to the page (GET) and submits again.
That "safe restart" never re-sends a form the user did not see twice.
"""
import functools
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from ctm_auth import clock
from mfa.app_settings import app_settings as mfa_settings

REAUTH_SESSION_KEY = "reauth_at"


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[REAUTH_SESSION_KEY] = clock.timestamp()


def is_recently_reauthenticated(request: HttpRequest) -> bool:
    done_at = request.session.get(REAUTH_SESSION_KEY)
    return done_at is not None and 0 <= clock.timestamp() - done_at < mfa_settings.REAUTH_WINDOW


def reauth_window_remaining(request: HttpRequest) -> int:
    done_at = request.session.get(REAUTH_SESSION_KEY)
    if done_at is None:
        return 0
    return max(0, int(mfa_settings.REAUTH_WINDOW - (clock.timestamp() - done_at)))


def redirect_to_reauthenticate(request: HttpRequest) -> HttpResponseRedirect:
    """Send the user to re-authenticate, then back to this page (as a GET)."""
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse('accounts:reauthenticate')}?{query}")


def _gate(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_recently_reauthenticated(request):
        return redirect_to_reauthenticate(request)
    return None


def reauthentication_required(view_func):
    """Decorate a function view as sensitive: signed in, recently re-authenticated,
    never cached, and with POST values hidden from error reports."""

    @functools.wraps(view_func)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _gate(request) or view_func(request, *args, **kwargs)

    wrapped = never_cache(sensitive_post_parameters()(wrapper))
    wrapped.reauthentication_required = True
    return wrapped


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters(), name="dispatch")
class ReauthenticationRequiredMixin:
    """Class-based twin of @reauthentication_required; list it first in the bases."""

    reauthentication_required = True

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _gate(request) or super().dispatch(request, *args, **kwargs)
