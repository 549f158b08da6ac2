"""Forms only validate; the flows act."""
from django import forms
from django.utils.translation import gettext_lazy as _

from mfa.totp import errors, otp
from mfa.totp.app_settings import app_settings


class TOTPCodeField(forms.CharField):
    """A code as authenticator apps show it: "123456" or "123 456".

    Surrounding whitespace (a pasted newline, a trailing space) is forgiven;
    anything that is not then exactly the expected number of ASCII digits
    is a form error. See otp.normalize_code.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Code"))
        kwargs.setdefault("max_length", 64)  # room for spaces; refuses absurd input early
        kwargs.setdefault("strip", False)  # normalize_code decides about whitespace
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "none",
            "spellcheck": "false", "size": 10,
        }))
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        # Required-ness is part of normalisation, with the same wording.
        pass

    def clean(self, value) -> str:
        value = super().clean(value)
        try:
            return otp.normalize_code(value, digits=app_settings.DIGITS)
        except otp.InvalidCode as invalid:
            raise forms.ValidationError(errors.message_for(invalid.code), code=invalid.code) from None


class ConfirmSetupForm(forms.Form):
    """Step 3 of the set-up: the pending set-up's id and a current code from the app."""

    setup_id = forms.CharField(widget=forms.HiddenInput, max_length=64,
                               error_messages={"required": _("This set-up is no longer valid. Start the set-up again."),
                                               "max_length": _("This set-up is no longer valid. Start the set-up again.")})
    code = TOTPCodeField(help_text=_("The code changes every 30 seconds. Spaces are fine."))
