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
    user = forms.CharField(label=_("User (email contains)"), required=False, max_length=254)
    event_type = forms.ChoiceField(label=_("Event"), required=False)

    def __init__(self, *args, event_types: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_type"].choices = [("", _("All events"))] + [(t, t) for t in event_types]
