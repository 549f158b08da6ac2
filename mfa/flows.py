"""MFA actions shared by every method."""
from django.http import HttpRequest

from accounts import audit
from mfa.registry import all_methods, has_primary_method

BACKUP_METHODS_DESTROYED = "mfa.fallback_methods_destroyed"


def set_default_method(request: HttpRequest, *, user, method_key: str) -> None:
    """Make ``method_key`` the method sign-in step 2 offers first."""
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
