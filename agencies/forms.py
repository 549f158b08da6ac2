from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.models import MAX_GRACE_DAYS, STEP_UP_MINUTES_RANGE, TRUSTED_BROWSER_DAYS_RANGE, Agency
from agencies.selectors import BLOCKED, DUE, SET_UP
from mfa.registry import all_methods


class ManageUsersFilterForm(forms.Form):
    q = forms.CharField(label=_("Search by name or email"), required=False, max_length=254,
                        widget=forms.TextInput(attrs={"type": "search"}))
    without_two_factor = forms.BooleanField(label=_("2FA not enabled"), required=False)
    standing = forms.ChoiceField(
        label=_("Two-factor status"), required=False,
        # A context: "Set up" is also a button elsewhere, a verb in other languages.
        choices=[("", _("All")), (SET_UP, pgettext_lazy("two-factor status", "Set up")), (DUE, _("Due")),
                 (BLOCKED, _("Blocked"))],
    )


def _whole_number(message) -> dict:
    """One plain message for every way a number field can be wrong."""
    return {"invalid": message, "min_value": message, "max_value": message, "required": message}


class SecurityPolicyForm(forms.Form):
    """Settings > Parent Settings > Security. ``cleaned_data["allowed_methods"]`` is [] for "any"."""

    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for all users across subaccounts"), required=False
    )
    grace_days = forms.IntegerField(
        label=_("Grace period (days)"), min_value=0, max_value=MAX_GRACE_DAYS, initial=0,
        help_text=_("0 to 30 days. Users without an allowed method see a reminder until then; after it they must "
                    "set one up."),
        error_messages=_whole_number(_("Enter a whole number of days from 0 to 30.")),
    )
    allowed_methods = forms.MultipleChoiceField(
        label=_("Allowed methods"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("While two-factor is required, only these methods count. With every box ticked, a method "
                    "added later is allowed too."),
    )
    phishing_resistant_only = forms.BooleanField(
        label=_("Require phishing-resistant methods (passkeys and security keys only)"), required=False,
    )
    allow_backup_codes = forms.BooleanField(label=_("Allow backup codes as recovery"), required=False)
    allow_trusted_browsers = forms.BooleanField(
        label=_("Allow users to trust a browser (skip the code on it)"), required=False,
    )
    trusted_browser_days = forms.IntegerField(
        label=_("Longest a browser stays trusted (days)"),
        min_value=TRUSTED_BROWSER_DAYS_RANGE[0], max_value=TRUSTED_BROWSER_DAYS_RANGE[1],
        help_text=_("1 to 30 days. Lowering it shortens the trust browsers already have."),
        error_messages=_whole_number(_("Enter a whole number of days from 1 to 30.")),
    )
    step_up_minutes = forms.IntegerField(
        label=_("Step-up window (minutes)"), min_value=STEP_UP_MINUTES_RANGE[0], max_value=STEP_UP_MINUTES_RANGE[1],
        help_text=_("5 to 60 minutes: how long a confirmation of identity lasts before sensitive pages ask again."),
        error_messages=_whole_number(_("Enter a whole number of minutes from 5 to 60.")),
    )
    # The impact preview's second step.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    acknowledged = forms.BooleanField(required=False)

    def __init__(self, *args, agency: Agency, **kwargs):
        primary = [m for m in all_methods() if m.is_primary]
        stored = set(agency.allowed_methods)
        ticked = [m.key for m in primary if not stored or m.key in stored]
        resistant = [m.key for m in primary if m.phishing_resistant]
        kwargs.setdefault("initial", {
            "require_two_factor": agency.require_two_factor, "grace_days": agency.two_factor_grace_days,
            "allowed_methods": ticked,
            "phishing_resistant_only": bool(resistant) and set(ticked) == set(resistant),
            "allow_backup_codes": agency.allow_backup_codes, "allow_trusted_browsers": agency.allow_trusted_browsers,
            "trusted_browser_days": agency.trusted_browser_days, "step_up_minutes": agency.step_up_minutes,
        })
        super().__init__(*args, **kwargs)
        self.primary_keys = [m.key for m in primary]
        self.phishing_resistant_keys = resistant
        self.fields["allowed_methods"].choices = [(m.key, m.label) for m in primary]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("phishing_resistant_only"):
            if not self.phishing_resistant_keys:
                self.add_error("phishing_resistant_only", _("No phishing-resistant method is enabled on this site."))
                return cleaned
            chosen = set(self.phishing_resistant_keys)
        else:
            chosen = set(cleaned.get("allowed_methods") or [])
        if not chosen:
            self.add_error("allowed_methods", _("Choose at least one method users may sign in with."))
            return cleaned
        keys = [key for key in self.primary_keys if key in chosen]
        cleaned["allowed_methods"] = [] if keys == self.primary_keys else keys
        return cleaned

    def policy_values(self) -> dict:
        """The cleaned settings, named as flows.SecurityPolicy names them."""
        data = self.cleaned_data
        return {"required": data["require_two_factor"], "grace_days": data["grace_days"],
                "allowed_methods": data["allowed_methods"], "allow_backup_codes": data["allow_backup_codes"],
                "allow_trusted_browsers": data["allow_trusted_browsers"],
                "trusted_browser_days": data["trusted_browser_days"], "step_up_minutes": data["step_up_minutes"]}


class SecurityLogFilterForm(forms.Form):
    """Settings > Security Log filters; all optional. Dates are whole days in the site's timezone, both included."""

    user = forms.CharField(label=_("User (email contains)"), required=False, max_length=254)
    group = forms.ChoiceField(label=_("Group"), required=False)
    event_type = forms.ChoiceField(label=_("Event"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": _("Enter the “From” date as YYYY-MM-DD.")})
    # A context: "To" is also a recipient elsewhere ("Para"), not the end of a range.
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": _("Enter the “To” date as YYYY-MM-DD.")})

    def __init__(self, *args, event_types: list[tuple[str, list[tuple[str, str]]]],
                 groups: list[tuple[str, str]], **kwargs):
        """``event_types`` are (group name, [(code, name), ...]): the select shows them in optgroups."""
        super().__init__(*args, **kwargs)
        self.fields["event_type"].choices = [("", _("All events"))] + [
            (group, choices) for group, choices in event_types if choices]
        self.fields["group"].choices = [("", _("All groups"))] + list(groups)

    def _clean_day(self, name: str):
        day = self.cleaned_data.get(name)
        # A year the database and the timezone arithmetic can hold on both sides of the day.
        if day is not None and not 1970 <= day.year <= 9998:
            raise forms.ValidationError(_("Enter a date between 1970 and 9998."))
        return day

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The “To” date is before the “From” date."))
        return cleaned
