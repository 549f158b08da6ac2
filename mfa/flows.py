"""MFA actions shared by every method."""
from django.http import HttpRequest
from django.urls import reverse

from accounts import audit
from mfa import policy
from mfa.registry import all_methods, get_method, has_primary_method

BACKUP_METHODS_DESTROYED = "mfa.fallback_methods_destroyed"


def set_default_method(request: HttpRequest, *, user, method_key: str) -> None:
    """Make ``method_key`` the method sign-in step 2 offers first.

    Only an active primary method may be that: a recovery method (backup
    codes) offered first would teach people to spend their way back in.
    The form refuses it with a message; this refuses whatever gets past.
    """
    method = get_method(method_key)
    if (method is None or not method.is_primary or not method.is_active_for(user)
            or not policy.method_allowed(user, method)):
        raise ValueError(f"{method_key!r} is not an active primary method of this user that the policy allows")
    previous = user.preferred_mfa_method
    user.preferred_mfa_method = method_key
    user.save(update_fields=["preferred_mfa_method"])
    audit.record(request, audit.MFA_DEFAULT_METHOD_CHANGED, target=user, method=method_key,
                 data={"previous": previous})


def destroy_fallbacks_if_no_primary(request: HttpRequest | None, *, user, actor=None) -> int:
    """Destroy fallback methods (backup codes) once the user has no primary method.

    Backup codes only make sense beside a primary method; left behind they
    would be a password-like secret that outlives the 2FA it backed up.
    Call this after removing any primary method, inside the same transaction.
    """
    if has_primary_method(user):
        return 0
    destroyed = sum(method.remove_all(user) for method in all_methods() if not method.is_primary)
    if destroyed:
        audit.record(request, BACKUP_METHODS_DESTROYED, actor=actor, target=user, data={"count": destroyed})
    return destroyed


def page_after_set_up(request: HttpRequest, *, user, had_primary: bool) -> str:
    """Return where a primary method's finished set-up goes next.

    After the user's first primary method that counts (``had_primary`` is
    what policy.has_allowed_primary_method said before the set-up: a Text
    Messages number the agency no longer allows does not count), set-up goes on with the
    fallback methods, so the user leaves with a way back in should the
    phone be lost. A second or replaced method goes to the Profile: the
    user keeps the backup codes they have. Every method's set-up view calls
    this once its set-up committed; a fallback that cannot start returns "",
    and the Profile then shows its warning. A fallback the agency policy
    refuses (backup codes turned off) is skipped: set-up ends on the Profile.
    """
    if not had_primary and policy.has_allowed_primary_method(user):
        for method in all_methods():
            if method.is_primary or not policy.method_allowed(user, method):
                continue
            next_page = method.continue_first_set_up(request, user)
            if next_page:
                return next_page
    return reverse("accounts:profile")
