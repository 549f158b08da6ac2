from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from mfa.webauthn import errors
from mfa.webauthn.app_settings import app_settings
from mfa.webauthn.flows import MAX_NAME_LENGTH

# The refusal an answer over MFA_WEBAUTHN_MAX_ANSWER_BYTES gets from the ceremony, not
# Django's "Ensure this value has at most 16384 characters", which means nothing to a person.
_too_large = lazy(errors.message_for, str)("too_large")


class KeyNameField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("Name"), max_length=MAX_NAME_LENGTH,
            help_text=_("So you can tell your keys apart: “MacBook Touch ID”, “YubiKey 5”."),
            error_messages={"required": _("Give the key a name, such as “MacBook Touch ID” or “YubiKey 5”.")},
            widget=forms.TextInput(attrs={"autocomplete": "off"}), **kwargs,
        )


class AddKeyForm(forms.Form):
    """The key's name, and the browser's answer to the registration options (filled by webauthn.js)."""

    name = KeyNameField()
    credential = forms.CharField(
        widget=forms.HiddenInput, max_length=app_settings.MAX_ANSWER_BYTES,
        error_messages={"required": _("Press “Add a passkey or security key” and follow your browser's prompt. "
                                      "This needs JavaScript."), "max_length": _too_large},
    )


class RenameKeyForm(forms.Form):
    name = KeyNameField()
