"""MFA actions shared by every method."""
from django.http import HttpRequest

from accounts import audit


def set_default_method(request: HttpRequest, *, user, method_key: str) -> None:
    """Make ``method_key`` the method sign-in step 2 offers first."""
    previous = user.preferred_mfa_method
    user.preferred_mfa_method = method_key
    user.save(update_fields=["preferred_mfa_method"])
    audit.record(request, audit.MFA_DEFAULT_METHOD_CHANGED, target=user, method=method_key,
                 data={"previous": previous})
