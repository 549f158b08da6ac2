"""Template context shared by every page: the top navigation."""
from django.http import HttpRequest

from accounts.pending_sign_in import has_pending_sign_in
from agencies.navigation import settings_menu_for


def navigation(request: HttpRequest) -> dict:
    """Return the Settings menu entries the signed-in user may open (maybe none)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        pending = hasattr(request, "session") and has_pending_sign_in(request)
        return {"settings_menu": [], "signin_pending": pending}
    return {"settings_menu": settings_menu_for(user), "signin_pending": False}


def two_factor_banner(request: HttpRequest) -> dict:
    """Return the grace-period banner's date, agency and day count when the user must soon set up 2FA.

    The date and agency are the earliest deadline's, the one that binds.
    """
    requirement = getattr(request, "two_factor_requirement", None)
    if requirement is None or not requirement.in_grace_period():
        return {}
    return {"two_factor_days_left": requirement.days_left(), "two_factor_deadline": requirement.deadline,
            "two_factor_deadline_agency": requirement.deadline_agency}
