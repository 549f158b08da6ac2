"""Pick the method a challenge page uses, from the user's active methods."""
from mfa.base.method import Method
from mfa.registry import active_methods, default_method


def choose_method(user, requested_key: str | None) -> tuple[Method | None, list[Method]]:
    """Return (the method to challenge with, all the user's active methods).

    The requested key wins when it names one of the user's active methods;
    otherwise the user's default. Unknown keys are ignored, never trusted.
    """
    methods = active_methods(user)
    by_key = {method.key: method for method in methods}
    chosen = by_key.get(requested_key or "") or default_method(user, methods)
    return chosen, methods
