from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mfa.registry import all_methods


class MethodChoiceField(forms.ChoiceField):
    """A choice among primary methods that names the refusal of a recovery method.

    A recovery method is never offered; a forged POST of one gets a message
    that says why, not "Select a valid choice".
    """

    def __init__(self, *, recovery: dict[str, str] | None = None,
                 refusal: Callable[[str], str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.recovery = recovery or {}
        self.refusal = refusal  # key -> why the agency policy refuses it ("" when it does not)

    def validate(self, value) -> None:
        refusal = self.refusal(value) if self.refusal and value else ""
        if refusal:
            raise ValidationError(refusal, code="method_not_allowed")
        if value in self.recovery:
            raise ValidationError(
                _("%(method)s is a recovery method, for when your usual method is not at hand: it cannot be "
                  "the one sign-in asks for first. Choose another method."),
                code="recovery_method", params={"method": self.recovery[value]})
        super().validate(value)


class DefaultMethodForm(forms.Form):
    """Pick the method sign-in asks for first, among the user's active primary ``methods``."""

    method = MethodChoiceField(label=_("Choose which authentication method to use"))

    def __init__(self, methods, *args, refusal: Callable[[str], str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m.key, m.label) for m in methods if m.is_primary]
        self.fields["method"].recovery = {m.key: m.label for m in all_methods() if not m.is_primary}
        self.fields["method"].refusal = refusal
