"""Step-up re-authentication ("sudo mode") for sensitive views.

A sensitive view asks for the password (and a second factor, when the user
has one their agency allows) unless the user authenticated within their
window (``reauth_window_for``: the agency's step-up window, else
MFA_REAUTH_WINDOW): a step-up, or the sign-in itself. The time, and whether
a second factor was checked, are kept in the server-side session, so the
client cannot extend them; the window's length is read on every check, so
an Owner shortening it shortens open windows at once. A window opened by
the password alone counts only while the user has no allowed second
factor: once they have one, it is asked for.

An administrator's pages on another user's methods are gated per visit
(``each_visit``): a step-up for such a page lets it open once, and its
buttons work for MFA_REAUTH_MEMBER_PAGE_WINDOW after it opened. Neither a
sign-in nor an earlier step-up opens them.

A POST that arrives outside the window is not replayed after
re-authentication: the user comes back to the page that holds its button
(a GET; a POST-only URL names that page with ``resume_at``) with a note to
press it again. That "safe restart" never re-sends a form behind the
user's back, and never lands on a 405.
"""
import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from ctm_auth import clock
from mfa import policy
from mfa.access_pass import gate as access_pass_gate
from mfa.app_settings import app_settings as mfa_settings

REAUTH_SESSION_KEY = "reauth_at"
SECOND_FACTOR_SESSION_KEY = "reauth_second_factor"
PAGE_GRANTS_SESSION_KEY = "reauth_page_grants"  # {path: granted at}: each opens its page once
PAGES_OPENED_SESSION_KEY = "reauth_pages_opened"  # {path: opened at}: its buttons work a while
INTERRUPTED_SESSION_KEY = "reauth_interrupted"  # the POST the gate stopped: {"path", "at"}


@dataclass(frozen=True)
class StepUp:
    """How a sensitive view is gated, and where step-up sends the user back to it."""

    #: URL name of the page that holds this POST-only view's button (same URL arguments).
    resume_at: str | None = None
    #: That button's label, or a function of the request returning it, for "Press … again".
    action: str | Callable[[HttpRequest], str] | None = None
    #: Open once per step-up (an administrator acting on another user), not for the window.
    each_visit: bool = False

    def action_label(self, request: HttpRequest) -> str:
        return str(self.action(request) if callable(self.action) else self.action or "")


def mark_reauthenticated(request: HttpRequest, *, second_factor: bool) -> None:
    """Open the window; ``second_factor`` says whether a code was checked beside the password."""
    request.session[REAUTH_SESSION_KEY] = clock.timestamp()
    request.session[SECOND_FACTOR_SESSION_KEY] = second_factor


def mark_second_factor_proven(request: HttpRequest, user) -> None:
    """Let this session's window count as two factors: it just confirmed a new one with its code.

    Called when a set-up finishes. The person who typed the password for
    the window now also holds the device, as at a sign-in with both, so a
    first set-up can go on (to backup codes) without asking again. The
    window is not extended; other sessions' password-only windows stop
    counting, since they proved nothing but the password.
    """
    if getattr(request, "user", None) == user and REAUTH_SESSION_KEY in request.session:
        request.session[SECOND_FACTOR_SESSION_KEY] = True


def reauth_window_for(user) -> int:
    """Return the user's step-up window in seconds: their agency's (strictest wins), else MFA_REAUTH_WINDOW."""
    minutes = policy.requirement(user).step_up_minutes
    return minutes * 60 if minutes else mfa_settings.REAUTH_WINDOW


def is_recently_reauthenticated(request: HttpRequest) -> bool:
    """Return True inside the window, if it asked for everything step-up would ask for now.

    A window opened by the password alone stops counting once the user has a
    second factor their agency allows: whoever set that factor up proved
    only the password. A method the policy refuses is no second factor here,
    as at sign-in step 2.
    """
    done_at = request.session.get(REAUTH_SESSION_KEY)
    if done_at is None or not 0 <= clock.timestamp() - done_at < reauth_window_for(request.user):
        return False
    if request.session.get(SECOND_FACTOR_SESSION_KEY):
        return True
    return not policy.has_second_factor(request.user, purpose="reauth")


def reauth_window_remaining(request: HttpRequest) -> int:
    done_at = request.session.get(REAUTH_SESSION_KEY)
    if done_at is None:
        return 0
    return max(0, int(reauth_window_for(request.user) - (clock.timestamp() - done_at)))


def redirect_to_reauthenticate(request: HttpRequest) -> HttpResponseRedirect:
    """Send the user to re-authenticate, then back to this page (as a GET)."""
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse('accounts:reauthenticate')}?{query}")


def resume_after_step_up(request: HttpRequest, next_url: str) -> str:
    """Return where a successful step-up for ``next_url`` goes, and prepare that page.

    A POST-only URL goes to the page holding its button; a page gated per
    visit gets its one opening; a form the gate stopped earns the note
    "Confirmed. Press … again."
    """
    path = urlsplit(next_url).path
    origin, kwargs = _step_up_of(path)
    target = _resume_url(origin.resume_at, kwargs) if origin and origin.resume_at else next_url
    destination, _kwargs = _step_up_of(urlsplit(target).path)
    if destination and destination.each_visit:
        _stamp(request, PAGE_GRANTS_SESSION_KEY, urlsplit(target).path)
    if _pop_interrupted(request) == path:
        messages.info(request, _again_note(request, origin))
    return target


def _resume_url(name: str, kwargs: dict) -> str:
    """Reverse the page holding a button; a list page ("Passkeys") takes none of its item's kwargs (key_id)."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return reverse(name)


def _again_note(request: HttpRequest, origin: "StepUp | None") -> str:
    label = origin.action_label(request) if origin else ""
    if label:
        return _("Confirmed. Press “%(action)s” again.") % {"action": label}
    return _("Confirmed. Nothing was changed yet: send the form again.")


def _step_up_of(path: str) -> tuple["StepUp | None", dict]:
    """Return the StepUp of the view at ``path`` (None when it is not gated) and its URL arguments."""
    try:
        match = resolve(path)
    except Resolver404:
        return None, {}
    view_class = getattr(match.func, "view_class", None)
    return getattr(match.func, "step_up", None) or getattr(view_class, "step_up", None), match.kwargs


def _pop_interrupted(request: HttpRequest) -> str:
    interrupted = request.session.pop(INTERRUPTED_SESSION_KEY, None) or {}
    fresh = 0 <= clock.timestamp() - interrupted.get("at", 0) < reauth_window_for(request.user)
    return interrupted.get("path", "") if fresh else ""


def _stamps(request: HttpRequest, key: str) -> dict[str, float]:
    """Return the session's unexpired page stamps under ``key``."""
    now, lasts = clock.timestamp(), mfa_settings.REAUTH_MEMBER_PAGE_WINDOW
    return {path: at for path, at in request.session.get(key, {}).items() if 0 <= now - at < lasts}


def _stamp(request: HttpRequest, key: str, path: str) -> None:
    request.session[key] = {**_stamps(request, key), path: clock.timestamp()}


def _open_granted_page(request: HttpRequest) -> bool:
    """Spend this page's one opening, if a step-up granted it; its buttons then work a while."""
    grants = _stamps(request, PAGE_GRANTS_SESSION_KEY)
    if grants.pop(request.path, None) is None:
        return False
    request.session[PAGE_GRANTS_SESSION_KEY] = grants
    _stamp(request, PAGES_OPENED_SESSION_KEY, request.path)
    return True


def _allowed(request: HttpRequest, step_up: StepUp, kwargs: dict) -> bool:
    if not step_up.each_visit:
        return is_recently_reauthenticated(request)
    if request.method == "GET":
        return _open_granted_page(request)
    page = reverse(step_up.resume_at, kwargs=kwargs) if step_up.resume_at else request.path
    return page in _stamps(request, PAGES_OPENED_SESSION_KEY)


def _gate(request: HttpRequest, step_up: StepUp, kwargs: dict) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    # A session its temporary access pass holds on the set-up pages opens
    # exactly those (the pass opened no window): see mfa.access_pass.gate.
    if _allowed(request, step_up, kwargs) or access_pass_gate.opens_set_up_page(request):
        return None
    if request.method == "POST":
        request.session[INTERRUPTED_SESSION_KEY] = {"path": request.path, "at": clock.timestamp()}
    return redirect_to_reauthenticate(request)


def reauthentication_required(view_func=None, *, resume_at: str | None = None,
                              action: str | Callable[[HttpRequest], str] | None = None, each_visit: bool = False):
    """Decorate a function view as sensitive: signed in, recently re-authenticated,
    never cached, and with POST values hidden from error reports.

    Used bare, or with the StepUp fields: a POST-only view names the page
    that holds its button (``resume_at``) and the button (``action``).
    """
    step_up = StepUp(resume_at=resume_at, action=action, each_visit=each_visit)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            return _gate(request, step_up, kwargs) or func(request, *args, **kwargs)

        wrapped = never_cache(sensitive_post_parameters()(wrapper))
        wrapped.reauthentication_required = True
        wrapped.step_up = step_up
        return wrapped

    return decorate(view_func) if view_func is not None else decorate


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters(), name="dispatch")
class ReauthenticationRequiredMixin:
    """Class-based twin of @reauthentication_required; list it first in the bases."""

    reauthentication_required = True
    step_up = StepUp()

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _gate(request, self.step_up, kwargs) or super().dispatch(request, *args, **kwargs)
