"""Forms only validate (phone numbers through phonenumbers, codes by shape); the flows act."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mfa.sms import codes
from mfa.sms.phone import parse_mobile_number


class MobileNumberField(forms.CharField):
    """A mobile number in international format, cleaned to E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile number"))
        # No maxlength attribute: a browser would silently cut a pasted
        # number short; parse_mobile_number explains what is wrong instead.
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "type": "tel", "autocomplete": "tel", "inputmode": "tel", "placeholder": "+1 415 555 2671",
            "size": 20,
        }))
        kwargs.setdefault("help_text", _("International format: + then the country code, e.g. +44 7400 123456."))
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        pass  # parse_mobile_number words the "required" error itself

    def clean(self, value) -> str:
        value = super().clean(value)
        return parse_mobile_number(value)


class SMSCodeField(forms.CharField):
    """Six digits, as texted; "123 456" is accepted, anything else is a form error."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Code"))
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "none",
            "spellcheck": "false", "size": 10, "autofocus": True,
        }))
        kwargs.setdefault("error_messages", {
            "required": _("Enter the 6-digit code from the text message."),
            "max_length": _("Enter the 6-digit code from the text message."),
        })
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        value = super().clean(value)
        code = codes.normalize_code(value)
        if code is None:
            raise ValidationError(_("Enter the 6-digit code from the text message."), code="invalid_format")
        return code


class PhoneNumberForm(forms.Form):
    number = MobileNumberField()


class CodeForm(forms.Form):
    code = SMSCodeField()
