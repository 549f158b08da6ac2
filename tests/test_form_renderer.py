"""ctm_auth.form_renderer writes Django's <input> and <select> HTML in Python: byte for byte what Django's templates write."""
import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from ctm_auth.form_renderer import FormRenderer

OURS, DJANGOS = FormRenderer(), DjangoTemplates()

CHOICES = [("", "— choose —"), ("a", "Alpha & <b>"), (2, 3000), ("c", gettext_lazy("Language"))]
GROUPED = [("", "None"), ("Fruit", [("apple", "Apple"), ("pear", 'Pear "Williams"')]), ("x", "X")]
WIDGETS = [
    forms.TextInput(), forms.TextInput(attrs={"autocomplete": "name", "required": True, "disabled": False}),
    forms.EmailInput(attrs={"autofocus": True, "maxlength": 254}), forms.PasswordInput(),
    forms.PasswordInput(render_value=True), forms.NumberInput(attrs={"step": 1, "min": 0}),
    forms.HiddenInput(), forms.URLInput(), forms.CheckboxInput(), forms.DateInput(),
    forms.Select(choices=CHOICES), forms.Select(choices=GROUPED, attrs={"aria-describedby": "x_helptext"}),
    forms.SelectMultiple(choices=CHOICES),
]
VALUES = [None, "", "plain", 'quote " & <tag>', mark_safe("<i>safe</i>"), 0, 2, "a", "pear", ["a", 2], True]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda widget: type(widget).__name__)
def test_every_widget_and_value_renders_as_djangos_templates_would(widget):
    for value in VALUES:
        for attrs in (None, {"id": "id_f", "aria-invalid": "true", "class": 'a "b"'}):
            ours = widget.render("field", value, attrs=dict(attrs or {}), renderer=OURS)
            djangos = widget.render("field", value, attrs=dict(attrs or {}), renderer=DJANGOS)
            assert ours == djangos, (value, attrs)


def test_widgets_django_does_not_write_from_input_or_select_still_use_their_templates():
    radio = forms.RadioSelect(choices=CHOICES)
    assert radio.render("f", "a", renderer=OURS) == radio.render("f", "a", renderer=DJANGOS)
    assert not OURS._is_djangos("django/forms/widgets/radio.html")
    assert OURS._is_djangos("django/forms/widgets/email.html") and OURS._is_djangos("django/forms/widgets/select.html")


def test_a_form_renders_the_same_whole(settings):
    class Form(forms.Form):
        email = forms.EmailField(help_text="Your work address")
        language = forms.ChoiceField(choices=CHOICES, required=False)

    bound = Form(data={"email": "not an email", "language": "zz"})
    assert Form(renderer=OURS).as_div() == Form(renderer=DJANGOS).as_div()
    assert (Form(data=bound.data, renderer=OURS).as_div()
            == Form(data=bound.data, renderer=DJANGOS).as_div())
