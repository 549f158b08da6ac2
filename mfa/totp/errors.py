"""User-facing wording for the method's stable error codes.

Tests and the audit log use the codes; only people read the wording.
"""
import math

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mfa.totp.app_settings import app_settings


def wait_phrase(seconds: int) -> str:
    """Return "5 seconds", "3 minutes" or "2 hours": how long the user must wait."""
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    if seconds < 2 * 3600:
        minutes = math.ceil(seconds / 60)
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours = math.ceil(seconds / 3600)
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def message_for(error: str, *, retry_after: int = 0, digits: int | None = None) -> str:
    """Return the sentence to show for ``error``, including the wait when there is one."""
    digits = digits or app_settings.DIGITS
    messages = {
        "required": _("Enter the %(digits)d-digit code from your authenticator app.") % {"digits": digits},
        "not_digits": _("The code has only the digits 0–9. Type the %(digits)d digits your app shows.")
        % {"digits": digits},
        "wrong_length": _("The code has exactly %(digits)d digits. Type the code your app shows now.")
        % {"digits": digits},
        "incorrect_code": _("That code is not correct. Check that your phone sets its clock automatically, "
                            "then type the code your app shows now."),
        "code_reused": _("That code was already used. Wait for your app to show a new code."),
        "throttled": _("Too many wrong codes."),
        "not_enabled": _("Google Authenticator is not set up for this account."),
        "setup_invalid": _("This set-up is no longer valid. Start the set-up again."),
        "setup_expired": _("This set-up expired. Start the set-up again to get a new QR code."),
    }
    message = messages.get(error, messages["incorrect_code"])
    if retry_after:
        message += " " + _("Try again in %(wait)s.") % {"wait": wait_phrase(retry_after)}
    return message
