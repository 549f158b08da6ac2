"""Pick the method a challenge page (sign-in step 2, step-up) uses, from the user's allowed active methods."""
from mfa.base.method import Method, Purpose
from mfa.policy import challenge_methods, method_allowed, not_allowed_message
from mfa.registry import default_method, get_method


def choose_method(user, requested_key: str | None,
                  purpose: Purpose = "sign_in") -> tuple[Method | None, list[Method]]:
    """Return (the method to challenge with, every method the page may offer).

    Only methods the agency policy allows are offered (mfa.policy.challenge_methods):
    a member whose primary methods are all refused is not enrolled (None, []),
    as a member with none. The requested key wins when it names an offered
    method; otherwise the user's default. Unknown keys are ignored, never trusted.
    """
    methods = challenge_methods(user, purpose)
    by_key = {method.key: method for method in methods}
    chosen = by_key.get(requested_key or "") or default_method(user, methods)
    return chosen, methods


def refused_method_message(user, requested_key: str | None) -> str:
    """Return why a posted ``method`` key is refused ("Acme Agency does not allow Text Messages."), or "".

    Only a method the policy does not allow is refused: an answer for it is
    never checked. An unknown key or one the user has not set up falls back to
    the default, as before.
    """
    method = get_method(requested_key or "")
    if method is None or method_allowed(user, method):
        return ""
    return not_allowed_message(user, method)
