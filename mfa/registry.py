"""The enabled MFA methods, loaded once from settings.MFA_METHODS."""
import functools

from django.core.signals import setting_changed
from django.db.models import Exists, OuterRef, Q
from django.utils.module_loading import import_string

from mfa.app_settings import app_settings
from mfa.base.method import Method


@functools.cache
def registry() -> dict[str, Method]:
    """Return the enabled MFA methods, keyed by their stable key, in settings order."""
    return {method.key: method for method in (import_string(path)() for path in app_settings.METHODS)}


def get_method(key: str) -> Method | None:
    return registry().get(key)


def all_methods() -> list[Method]:
    return list(registry().values())


def methods_signing_in_without_user() -> list[Method]:
    """Return the methods the sign-in page offers before any email is typed (a passkey)."""
    return [method for method in all_methods() if method.signs_in_without_user]


def active_methods(user) -> list[Method]:
    """Return the methods the user can answer a challenge with, in settings order."""
    if getattr(user, "pk", None) is None:  # anonymous or unsaved
        return []
    return [method for method in all_methods() if method.is_active_for(user)]


def has_primary_method(user) -> bool:
    """Return True when the user has two-factor authentication enabled."""
    return any(method.is_primary for method in active_methods(user))


def default_method(user, methods: list[Method] | None = None) -> Method | None:
    """Return the method step 2 offers first: the user's choice, else the first primary.

    A method that costs per challenge (a text) comes first only when the user
    chose it or it is their only primary method; a phishing-resistant one
    (a passkey) comes before the others. A recovery method (backup
    codes) is never the choice, even if an older version stored it.
    """
    methods = active_methods(user) if methods is None else methods
    by_key = {method.key: method for method in methods if method.is_primary}
    if user.preferred_mfa_method in by_key:
        return by_key[user.preferred_mfa_method]
    # A phishing-resistant method (a passkey) first, as GitHub and Google do;
    # one that costs per challenge (a text) last.
    primaries = sorted((m for m in methods if m.is_primary),
                       key=lambda m: (m.costs_per_challenge, not m.phishing_resistant))
    return next(iter(primaries), methods[0] if methods else None)


def active_method_annotations(user_ref: str) -> dict[str, Exists]:
    """Return one ``has_<key>`` EXISTS per enabled method for the user ``user_ref`` points at.

    Lets a query over many users (or one user plus other facts) learn every
    method's state in the same SQL statement.
    """
    return {
        f"has_{method.key}": Exists(method.all_active_devices().filter(user=OuterRef(user_ref)))
        for method in all_methods()
    }


def has_primary_method_condition() -> Q:
    """Return a condition on ``active_method_annotations`` that is true with a primary method."""
    condition = Q(pk__in=[])  # false when no primary method is enabled
    for method in all_methods():
        if method.is_primary:
            condition |= Q(**{f"has_{method.key}": True})
    return condition


def _clear_on_settings_change(*, setting: str, **kwargs) -> None:
    if setting == "MFA_METHODS":
        registry.cache_clear()


setting_changed.connect(_clear_on_settings_change)
