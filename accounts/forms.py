"""Forms only validate; the flows act."""
import functools

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core import validators
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.preferences import is_time_zone, time_zone_names

# Bounds on what we accept at sign-in, so absurd input is refused before any
# hashing work is spent on it.
MAX_PASSWORD_INPUT = 4096


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, max_length=MAX_PASSWORD_INPUT,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    """A one-time code; each method normalises and checks it in verify()."""

    code = forms.CharField(
        label=_("Code"), max_length=64,
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
            "autocapitalize": "none", "spellcheck": "false",
        }),
        error_messages={"required": _("Enter the code.")},
    )

    def fit_to(self, method) -> None:
        """Shape the answer field for ``method``: its keypad, its longest answer, its "missing" message.

        A passkey's answer is a signed assertion of kilobytes that the
        browser fills in; a typed code is a few characters on a digit keypad.
        """
        field = self.fields["code"]
        field.widget.attrs["inputmode"] = method.code_input_mode
        field.max_length = method.answer_max_length
        field.widget.attrs["maxlength"] = str(method.answer_max_length)
        field.validators = [v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)]
        field.validators.append(validators.MaxLengthValidator(method.answer_max_length))
        field.error_messages["required"] = method.missing_answer_message
        if method.answer_too_long_message:
            field.error_messages["max_length"] = method.answer_too_long_message


class SignInCodeForm(CodeForm):
    """Sign-in step 2: the code, and the offer to trust this browser for ``trust_days``.

    Without a trust period (turned off for the user's agency) the box is not
    offered at all, so it cannot be ticked.
    """

    remember_browser = forms.BooleanField(required=False)

    def __init__(self, *args, trust_days: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if not trust_days:
            del self.fields["remember_browser"]
            return
        self.fields["remember_browser"].label = ngettext(
            "Don't ask for a code on this browser for %(days)d day",
            "Don't ask for a code on this browser for %(days)d days",
            trust_days,
        ) % {"days": trust_days}


class ReauthenticationForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False, max_length=MAX_PASSWORD_INPUT,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class ReauthenticationWithCodeForm(ReauthenticationForm, CodeForm):
    field_order = ["password", "code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name"]
        widgets = {"name": forms.TextInput(attrs={"autocomplete": "name"})}


class TimeZoneSelect(forms.Select):
    """The <select> of every time zone (about 600), its options written once per process.

    Django renders each option through a template of its own, and the field
    normalises its choices on every form: for this list that was nine tenths
    of the Profile's time. The HTML is the one Django's Select would write
    (tests/accounts/test_preferences.py compares them): the <select> with its
    attributes (id, required, aria-*), the blank choice (``blank_label``,
    which names whose zone a blank follows), then the zones.
    """

    blank_label = ""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        chosen = value or ""
        final_attrs = {"name": name, **self.build_attrs(self.attrs, attrs)}
        # As django/forms/widgets/attrs.html: in order, True bare, False left out.
        attributes = format_html_join("", "{}", (
            (format_html(" {}", key) if item is True else format_html(' {}="{}"', key, item),)
            for key, item in final_attrs.items() if item is not False and item is not None
        ))
        blank = format_html('<option value=""{}>{}</option>', mark_safe(" selected") if not chosen else "",
                            self.blank_label)
        zones = "".join(_selected_option(zone) if zone == chosen else option for zone, option in _zone_options())
        return format_html("<select{}>{}{}</select>", attributes, blank, mark_safe(zones))


@functools.cache
def _zone_options() -> tuple[tuple[str, str], ...]:
    return tuple((zone, format_html('<option value="{}">{}</option>', zone, zone))
                 for zone in sorted(time_zone_names()))


def _selected_option(zone: str) -> str:
    return format_html('<option value="{}" selected>{}</option>', zone, zone)


class PreferencesForm(forms.ModelForm):
    """The Profile's Preferences: language and time zone, each blank to follow someone else.

    Blank language follows the browser; blank time zone follows the agency
    (its zone is named in the choice). Any other value must be one of the
    choices, so a forged zone or language is refused with a message.
    """

    language = forms.ChoiceField(label=_("Language"), required=False, error_messages={
        "invalid_choice": _("Choose a language from the list.")})
    time_zone = forms.CharField(label=_("Time zone"), required=False, widget=TimeZoneSelect)

    class Meta:
        model = User
        fields = ["language", "time_zone"]

    def __init__(self, *args, agency_time_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Browser's language")), *settings.LANGUAGES]
        follow = (_("Agency's time zone (%(zone)s)") % {"zone": agency_time_zone} if agency_time_zone
                  else _("The site's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE})
        self.fields["time_zone"].widget.blank_label = follow

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data["time_zone"]
        if zone and not is_time_zone(zone):
            raise forms.ValidationError(_("Choose a time zone from the list."), code="invalid_choice")
        return zone


class SetPasswordForm(forms.Form):
    """A new password, typed twice, checked by AUTH_PASSWORD_VALIDATORS (change and reset share it)."""

    new_password = forms.CharField(
        label=_("New password"), strip=False, max_length=MAX_PASSWORD_INPUT,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. Long passphrases are welcome."),
    )
    new_password_confirm = forms.CharField(
        label=_("Confirm new password"), strip=False, max_length=MAX_PASSWORD_INPUT,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: User, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        cleaned = super().clean()
        new, confirm = cleaned.get("new_password"), cleaned.get("new_password_confirm")
        if new and confirm and new != confirm:
            self.add_error("new_password_confirm", forms.ValidationError(_("The two passwords do not match."), code="password_mismatch"))
        elif new:
            try:
                password_validation.validate_password(new, self.user)
            except forms.ValidationError as error:
                self.add_error("new_password", error)
        return cleaned


class PasswordChangeForm(SetPasswordForm):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, max_length=MAX_PASSWORD_INPUT,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["old_password", "new_password", "new_password_confirm"]

    def clean_old_password(self) -> str:
        old = self.cleaned_data["old_password"]
        if not self.user.check_password(old):
            raise forms.ValidationError(_("Your current password was entered incorrectly."), code="password_incorrect")
        return old


class PasswordResetRequestForm(forms.Form):
    """"Forgot password?": the address to send a reset link to."""

    email = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}),
    )


class ResetPasswordForm(SetPasswordForm):
    """The new password set through an emailed link: the same rules as Change password."""

    def __init__(self, user: User, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password"].widget.attrs["autofocus"] = True
