from django import forms
from django.utils.translation import gettext_lazy as _


class DefaultMethodForm(forms.Form):
    method = forms.ChoiceField(label=_("Choose which authentication method to use"))

    def __init__(self, methods, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m.key, m.label) for m in methods]
