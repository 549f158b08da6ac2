"""The single place that decides whether a user may drop their two-factor.

Method "Disable" views call ``disable_refusal`` before removing anything; the
agency "require two-factor" policy plugs in here, so no view decides alone.
"""
from django.utils.translation import gettext as _

from mfa.base.method import Method
from mfa.registry import active_methods, all_methods


def two_factor_required_for(user) -> bool:
    """Return True when an agency the user belongs to requires two-factor
    (Settings > Parent Settings > Security), grace period or not."""
    from agencies.policy import requirement_for  # agencies builds on mfa

    return requirement_for(user).required


def _requirement(user):
    from agencies.policy import requirement_for  # agencies builds on mfa

    return requirement_for(user)


def method_allowed(user, method: Method) -> bool:
    """Return True when the user's agencies let them use ``method`` (Parent Settings > Security).

    While two-factor is required, only the allowed primary methods count, and
    backup codes only unless an Owner turned them off. Step 2, step-up and the
    set-up pages never offer a method this refuses.
    """
    return _requirement(user).allows(method)


def allowed_methods(user) -> list[Method]:
    """Every enabled method the policy lets ``user`` use or set up, in settings order."""
    requirement = _requirement(user)
    return [method for method in all_methods() if requirement.allows(method)]


def allowed_active_methods(user) -> list[Method]:
    """The user's active methods that the policy lets step 2 and step-up offer."""
    requirement = _requirement(user)
    return [method for method in active_methods(user) if requirement.allows(method)]


def disable_refusal(user, method_key: str) -> str | None:
    """Return why ``user`` may not disable ``method_key``, or None when they may.

    Refuses removing the last primary method while two-factor is required.
    """
    remaining_primary = [m for m in active_methods(user) if m.is_primary and m.key != method_key]
    if remaining_primary or not two_factor_required_for(user):
        return None
    return _(
        "Your agency requires two-factor authentication, so you cannot disable your last "
        "method. Set up another method first."
    )
