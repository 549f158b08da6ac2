"""What each refusal tells the person. Codes are stable (the audit log keeps them); wording is here only.

A refused answer does not say which check failed (origin, RP id, challenge,
signature): that helps an attacker more than the person, and the audit log
has the detail.
"""
import math

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from mfa.webauthn.app_settings import app_settings

_TRY_AGAIN = gettext_noop("Try again, or use another method.")  # translated where used


def message_for(code: str, *, retry_after: int = 0, limit: int = 0) -> str:
    if code == "throttled":
        minutes = max(1, math.ceil(retry_after / 60))
        return ngettext("Too many attempts. Try again in %(minutes)d minute.",
                        "Too many attempts. Try again in %(minutes)d minutes.", minutes) % {"minutes": minutes}
    if code == "too_many_keys":
        return ngettext("You have %(limit)d passkey or security key, the most one account can have. "
                        "Remove it first if you no longer use it.",
                        "You have %(limit)d passkeys and security keys, the most one account can have. "
                        "Remove one you no longer use first.", limit) % {"limit": limit}
    messages = {
        "malformed": _("Your browser's answer could not be read. %(again)s"),
        "too_large": _("Your browser's answer was too large to be a passkey's. %(again)s"),
        "challenge_missing": _("That passkey request has expired or was already used. %(again)s"),
        "challenge_expired": ngettext("That passkey request expired after %(minutes)d minute. %(again)s",
                                      "That passkey request expired after %(minutes)d minutes. %(again)s",
                                      _challenge_minutes()),
        "challenge_spent": _("That passkey request was already used. %(again)s"),
        "wrong_origin": _("Your passkey's answer was not made for this site. %(again)s"),
        "wrong_rp_id": _("Your passkey's answer was not made for this site. %(again)s"),
        "wrong_challenge": _("Your passkey's answer did not match this request. %(again)s"),
        "bad_signature": _("Your passkey's answer did not check out. %(again)s"),
        "user_not_present": _("Your passkey did not confirm you were there (touch it when it blinks). %(again)s"),
        "unknown_credential": _("This passkey or security key is not registered to an account here. "
                                "Use one you added, or another method."),
        "sign_count": _("This security key was refused: its counter went backwards, which happens when a key "
                        "has been copied. Use another method, and check your keys on your Profile."),
        "already_registered": _("This passkey or security key is registered already. Nothing was changed."),
        "name_missing": _("Give the key a name, such as “MacBook Touch ID” or “YubiKey 5”."),
        "name_taken": _("You already have a key with that name. Choose another name."),
        "unknown_key": _("That key is not one of yours, or it was removed already."),
        "not_enabled": _("You have no passkey or security key. Use another method."),
    }
    return messages.get(code, messages["malformed"]) % {"again": _(_TRY_AGAIN), "minutes": _challenge_minutes()}


def _challenge_minutes() -> int:
    """MFA_WEBAUTHN_CHALLENGE_TIMEOUT in whole minutes, as the expiry message says it (it was fixed at 5)."""
    return max(1, math.ceil(app_settings.CHALLENGE_TIMEOUT / 60))
