"""Forms only validate; the flows act. Typed codes arrive through accounts.forms.CodeForm."""
from django import forms
from django.utils.translation import gettext_lazy as _


class SavedForm(forms.Form):
    """The tick that finishes set-up: codes nobody saved would lock their owner out later."""

    saved = forms.BooleanField(
        label=_("I have saved these codes"),
        error_messages={"required": _("Tick “I have saved these codes” once they are somewhere safe.")},
    )
