"""Forms only validate; the flows act."""
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from mfa.access_pass.models import DEFAULT_LIFETIME_HOURS, MAX_LIFETIME_HOURS, MIN_LIFETIME_HOURS

_RANGE = {"min": MIN_LIFETIME_HOURS, "max": MAX_LIFETIME_HOURS}
_LIFETIME_MESSAGE = format_lazy(_("Enter a whole number of hours from {min} to {max}."), **_RANGE)


class IssuePassForm(forms.Form):
    """"Issue a temporary access pass": how long it stays valid."""

    lifetime_hours = forms.IntegerField(
        label=_("Valid for (hours)"), initial=DEFAULT_LIFETIME_HOURS,
        min_value=MIN_LIFETIME_HOURS, max_value=MAX_LIFETIME_HOURS,
        help_text=format_lazy(_("From {min} to {max} hours. The pass works once."), **_RANGE),
        error_messages={"required": _LIFETIME_MESSAGE, "invalid": _LIFETIME_MESSAGE,
                        "min_value": _LIFETIME_MESSAGE, "max_value": _LIFETIME_MESSAGE},
    )
