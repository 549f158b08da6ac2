from django import forms
from django.utils.translation import gettext_lazy as _

from agencies.models import MAX_GRACE_DAYS


class ManageUsersFilterForm(forms.Form):
    q = forms.CharField(label=_("Search by name or email"), required=False, max_length=254,
                        widget=forms.TextInput(attrs={"type": "search"}))
    without_two_factor = forms.BooleanField(label=_("2FA not enabled"), required=False)


class TwoFactorPolicyForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for all users across subaccounts"), required=False
    )
    grace_days = forms.IntegerField(
        label=_("Grace period (days)"), min_value=0, max_value=MAX_GRACE_DAYS, initial=0,
        help_text=_("0 to 30 days. Users without two-factor see a reminder until then; after it they must set it up."),
        error_messages={"invalid": _("Enter a whole number of days from 0 to 30.")},
    )


class SecurityLogFilterForm(forms.Form):
    """Settings > Security Log filters; all optional. Dates are whole days in the site's timezone, both included."""

    user = forms.CharField(label=_("User (email contains)"), required=False, max_length=254)
    group = forms.ChoiceField(label=_("Group"), required=False)
    event_type = forms.ChoiceField(label=_("Event"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": _("Enter the “From” date as YYYY-MM-DD.")})
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
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
