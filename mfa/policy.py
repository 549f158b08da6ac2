"""The single place that decides which methods a user may use, set up and drop.

Sign-in step 2, step-up, the set-up pages, the Profile and every method's
"Disable" ask here; the agencies' policy (Settings > Parent Settings >
Security) plugs in through ``requirement``, so no view decides alone.
Everything here reads the one cached answer of agencies.policy.requirement_for.
"""
from django.utils.translation import gettext as _

from mfa.base.method import Method, Purpose
from mfa.registry import active_methods, all_methods, get_method


def requirement(user):
    """Return what the user's agencies require of them (agencies.policy.TwoFactorRequirement), cached."""
    from agencies.policy import requirement_for  # agencies builds on mfa

    return requirement_for(user)


def two_factor_required_for(user) -> bool:
    """Return True when an agency the user belongs to requires two-factor
    (Settings > Parent Settings > Security), grace period or not."""
    return requirement(user).required


def method_allowed(user, method: Method) -> bool:
    """Return True when the user's agencies let them use ``method`` (Parent Settings > Security).

    While two-factor is required, only the allowed primary methods count, and
    backup codes only unless an Owner turned them off. Step 2, step-up and the
    set-up pages never offer a method this refuses.
    """
    return requirement(user).allows(method)


def allowed_methods(user) -> list[Method]:
    """Every enabled method the policy lets ``user`` use or set up, in settings order."""
    answer = requirement(user)
    return [method for method in all_methods() if answer.allows(method)]


def allowed_active_methods(user) -> list[Method]:
    """The user's active methods that the policy lets step 2 and step-up offer."""
    answer = requirement(user)
    return [method for method in active_methods(user) if answer.allows(method)]


def challenge_methods(user, purpose: Purpose = "sign_in") -> list[Method]:
    """The methods sign-in step 2 and step-up may ask for; empty when the user counts as not enrolled.

    Only methods the policy allows. A member whose primary methods the
    policy all refuses is not enrolled, like a member with none: the
    password signs them in, then the banner or the forced set-up of an
    allowed method; their backup codes alone make no second step. Codes that
    outlived every primary method for another reason (an operator took the
    method out of MFA_METHODS) are still asked for, as before the policy.
    """
    answer = requirement(user)
    active = active_methods(user)
    if purpose == "reauth":
        # A temporary access pass signs in, nothing more: step-up never offers it.
        active = [method for method in active if method.opens_step_up]
    allowed = [method for method in active if answer.allows(method)]
    refused_primary = any(method.is_primary and not answer.allows(method) for method in active)
    if refused_primary and not any(method.is_primary for method in allowed):
        return []
    return allowed


def has_allowed_primary_method(user) -> bool:
    """True when the user has a primary method that counts under their agencies' policy."""
    answer = requirement(user)
    return any(method.is_primary and answer.allows(method) for method in active_methods(user))


def has_second_factor(user, purpose: Purpose = "sign_in") -> bool:
    """True when step 2 (or step-up, with ``purpose="reauth"``) asks this user for a second factor."""
    return bool(challenge_methods(user, purpose))


def _by_preference(methods: list[Method]) -> list[Method]:
    """Phishing-resistant first, per-challenge cost last: the order step 2 prefers."""
    return sorted(methods, key=lambda m: (m.costs_per_challenge, not m.phishing_resistant))


def allowed_primary_methods(user) -> list[Method]:
    """The primary methods the user may set up, best first; empty when their agencies share none."""
    return _by_preference([method for method in allowed_methods(user) if method.is_primary])


def no_method_in_common(user) -> bool:
    """True when the user's agencies require two-factor but their allowed methods have nothing in common."""
    return requirement(user).required and not allowed_primary_methods(user)


def _agency_refusing(user, method: Method) -> str:
    """The name of an agency of ``user`` whose policy refuses ``method`` ("" if none is found).

    One query, run only to word a refusal: the cached answer holds the
    combined rule, not which agency made it.
    """
    from agencies.policy import BACKUP_CODES_KEY, requiring_agencies

    rows = requiring_agencies().filter(memberships__user=user).order_by("name").values_list(
        "name", "allowed_methods", "allow_backup_codes")
    for name, keys, backup_codes in rows:
        if method.is_primary and keys and method.key not in keys:
            return name
        if method.key == BACKUP_CODES_KEY and not backup_codes:
            return name
    return ""


def not_allowed_message(user, method: Method) -> str:
    """"Acme Agency does not allow Text Messages." """
    agency = _agency_refusing(user, method)
    if agency:
        return _("%(agency)s does not allow %(method)s.") % {"agency": agency, "method": method.label}
    return _("Your agency does not allow %(method)s.") % {"method": method.label}


def join_or(labels: list[str]) -> str:
    """"A", "A or B", "A, B or C"."""
    labels = [str(label) for label in labels]
    if len(labels) <= 1:
        return "".join(labels)
    return _("%(first)s or %(last)s") % {"first": ", ".join(labels[:-1]), "last": labels[-1]}


def no_common_method_message() -> str:
    return _("Your agencies' policies have no method in common; ask an administrator.")


def set_up_refusal(user, method_key: str) -> str | None:
    """Return why ``user`` may not set up ``method_key`` now, or None when they may.

    "Acme Agency does not allow Text Messages. Set up Passkeys and security
    keys or Google Authenticator." Every method's set-up page asks this
    first (mfa.decorators.set_up_allowed), so none creates a device the
    policy refuses.
    """
    method = get_method(method_key)
    if method is None or method_allowed(user, method):
        return None
    if not method.is_primary:  # backup codes turned off: the primary methods are not in question
        return not_allowed_message(user, method)
    choices = allowed_primary_methods(user)
    if not choices:
        return f"{not_allowed_message(user, method)} {no_common_method_message()}"
    return _("%(refusal)s Set up %(methods)s.") % {
        "refusal": not_allowed_message(user, method), "methods": join_or([m.label for m in choices])}


def disable_refusal(user, method_key: str) -> str | None:
    """Return why ``user`` may not disable ``method_key``, or None when they may.

    Refuses removing the last allowed primary method while two-factor is
    required. A method the policy does not allow counts for nothing, so it
    may always go, and does not save the last allowed one.
    """
    if not two_factor_required_for(user):
        return None
    answer = requirement(user)
    method = get_method(method_key)
    if method is not None and method.is_primary and not answer.allows(method):
        return None
    remaining = [m for m in active_methods(user) if m.is_primary and m.key != method_key and answer.allows(m)]
    if remaining:
        return None
    return _(
        "Your agency requires two-factor authentication, so you cannot disable your last "
        "method. Set up another method first."
    )
