"""After a sign-in with a temporary access pass: a new primary method before anything else.

The requirement is held by the pass row (``settled_at`` empty), so it binds
every session of the user, a trusted browser's too, until a primary method
the policy allows, and that they did not have when the pass was used, is
set up. A session learns it at sign-in (signed_in_with, or the
user_logged_in receiver for any other sign-in) and keeps the pass's id under
SESSION_KEY; sessions without it pay nothing per request.

The sign-in with the pass opens no step-up window. Yet the set-up pages are
behind step-up, so ``opens_set_up_page`` lets exactly those through while the
requirement holds (accounts.reauth asks it); Disable and Remove stay gated.
"""
from django.http import HttpRequest
from django.urls import ResolverMatch

from ctm_auth.routing import is_static_path, resolve_or_none

SESSION_KEY = "access_pass_set_up"
SET_UP_URL_NAME = "mfa:access_pass:set_up"
_PENDING_CACHE_ATTR = "_access_pass_set_up_pending"


def require_set_up(request: HttpRequest, access_pass) -> None:
    """Remember in this session that its user must set up a new primary method first."""
    request.session[SESSION_KEY] = {"pass_id": access_pass.pk, "user_id": access_pass.user_id}
    request.__dict__.pop(_PENDING_CACHE_ATTR, None)


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    """Any sign-in (a trusted browser's, a passkey's) of a user whose pass is unsettled is held too."""
    from mfa.access_pass.selectors import unsettled_pass
    from mfa.registry import user_fact

    if request is None or not hasattr(request, "session"):
        return
    unsettled = unsettled_pass(user) if user_fact(user, "access_pass_unsettled") else None
    if unsettled is not None:
        require_set_up(request, unsettled)


def set_up_pending(request: HttpRequest) -> bool:
    """Return True while this session's user still has to set up a new primary method.

    Clears the session's marker for good once the method exists.
    """
    if SESSION_KEY not in request.session:
        return False
    cached = request.__dict__.get(_PENDING_CACHE_ATTR)
    if cached is None:
        cached = request.__dict__[_PENDING_CACHE_ATTR] = _still_pending(request)
    return cached


def _still_pending(request: HttpRequest) -> bool:
    from mfa import policy
    from mfa.access_pass.flows import settle_if_set_up
    from mfa.access_pass.selectors import unsettled_pass

    marker, user = request.session.get(SESSION_KEY) or {}, request.user
    unsettled = None
    if getattr(user, "is_authenticated", False) and marker.get("user_id") == user.pk:
        unsettled = unsettled_pass(user, marker.get("pass_id"))
    if unsettled is None or settle_if_set_up(user, unsettled, allowed_methods=policy.allowed_active_methods(user)):
        _release(request)
        return False
    return True


def _release(request: HttpRequest) -> None:
    """End the hold, and any step-up window of this session with it.

    Confirming the new method marks the window as two-factor
    (reauth.mark_second_factor_proven), which would let the holder of a
    password and a pass into every sensitive page at once. The pass opens no
    window: the first sensitive page asks for the password and the new method.
    """
    from accounts.reauth import REAUTH_SESSION_KEY, SECOND_FACTOR_SESSION_KEY  # accounts.reauth imports this module

    request.session.pop(SESSION_KEY, None)
    request.session.pop(REAUTH_SESSION_KEY, None)
    request.session.pop(SECOND_FACTOR_SESSION_KEY, None)


def set_up_url_allowed(request: HttpRequest, match: ResolverMatch) -> bool:
    """True for the pass's own set-up page and the set-up pages of a primary method the policy allows."""
    from mfa import policy
    from mfa.access_pass.app_settings import app_settings
    from mfa.registry import get_method

    if match.view_name == SET_UP_URL_NAME:
        return True
    if match.view_name not in app_settings.SET_UP_URL_NAMES or len(match.namespaces) < 2:
        return False
    method = get_method(match.namespaces[1])
    return method is not None and method.is_primary and policy.method_allowed(request.user, method)


def opens_set_up_page(request: HttpRequest) -> bool:
    """Let a set-up page through step-up while this session's pass requires a new method (accounts.reauth)."""
    if SESSION_KEY not in request.session or not set_up_pending(request):
        return False
    match = resolve_or_none(request.path_info)
    return match is not None and set_up_url_allowed(request, match)


def reachable_while_pending(request: HttpRequest) -> bool:
    """The pages the middleware lets a held session open: sign-out, static files, set-up and its helpers."""
    from mfa.access_pass.app_settings import app_settings

    if is_static_path(request.path_info):
        return True
    match = resolve_or_none(request.path_info)
    if match is None:
        return False
    return (match.view_name == "accounts:logout" or match.view_name in app_settings.SET_UP_HELPER_URL_NAMES
            or set_up_url_allowed(request, match))
