"""Forms only validate (phone numbers through phonenumbers, codes by shape); the flows act."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mfa.sms import codes
from mfa.sms.phone import example_number, parse_mobile_number, region_choices, resolve_region


class CountrySelect(forms.Select):
    """The countries, each option carrying its example number for the number's placeholder (phone.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["data-example"] = example_number(str(value))
        return option


class MobileNumberField(forms.CharField):
    """A mobile number as typed; PhoneNumberForm reads it in the chosen country and cleans it to E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile number"))
        # No maxlength attribute: a browser would silently cut a pasted
        # number short; parse_mobile_number explains what is wrong instead.
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "type": "tel", "autocomplete": "tel", "inputmode": "tel", "size": 20,
        }))
        kwargs.setdefault("help_text", _(
            "Your mobile number. Include the country code if it’s outside the selected country."))
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        pass  # parse_mobile_number words the "required" error itself


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
    """A country and a number: a number typed without "+" is read in that country.

    ``region`` is the country preselected (selectors.default_region); a post
    without a country (a script, an old page) is read in it too.
    """

    country = forms.ChoiceField(label=_("Country"), required=False, widget=CountrySelect)
    number = MobileNumberField()

    def __init__(self, *args, region: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_region = resolve_region(region)
        self.fields["country"].choices = region_choices()
        self.fields["country"].initial = self.default_region
        self.fields["number"].widget.attrs["placeholder"] = example_number(self.selected_region())

    def selected_region(self) -> str:
        """The country shown selected: the posted one when it is on the list, else the default."""
        posted = self.data.get("country", "") if self.is_bound else ""
        return resolve_region(posted, self.default_region) if posted else self.default_region

    def clean_number(self) -> str:
        region = self.cleaned_data.get("country") or self.default_region
        return parse_mobile_number(self.cleaned_data["number"], region)


class CodeForm(forms.Form):
    code = SMSCodeField()
