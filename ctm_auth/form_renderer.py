"""Django's form renderer, with its <input> and <select> templates written in Python.

Every field on a page (the sign-in form, the code at step 2, the Profile's
name and preferences) renders its widget through Django's templates: the
widget's template, input.html or select.html, attrs.html, and a template
per <option>. For the few fields of a page that is a tenth of its time. The
functions here write the same HTML, byte for byte
(tests/test_form_renderer.py compares them with Django's over many widgets
and values), and are used only while the template in play is Django's own
file: a project or app that overrides one gets its template rendered as
usual.
"""
from pathlib import Path

import django
from django.forms.renderers import DjangoTemplates
from django.template import TemplateDoesNotExist
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime

_DJANGO_FORM_TEMPLATES = Path(django.__file__).resolve().parent / "forms" / "templates"
_INPUT = "django/forms/widgets/input.html"
_ATTRS = "django/forms/widgets/attrs.html"
_SELECT = "django/forms/widgets/select.html"
_OPTION = "django/forms/widgets/select_option.html"
# The widgets' own templates that only include input.html (text.html, email.html, ...).
_INCLUDES_INPUT = '{% include "django/forms/widgets/input.html" %}\n'


def _text(value) -> str:
    """``{{ value }}`` (render_value_in_context): localised, as text, escaped unless marked safe."""
    return conditional_escape(str(localize(template_localtime(value))))


def _string_format(value) -> str:
    """``{{ value|stringformat:'s' }}``: ``"%s" % value``, escaped unless the value was marked safe."""
    text = "%s" % (value,)
    return text if isinstance(value, SafeData) else conditional_escape(text)


def _attrs(attrs: dict) -> str:
    """attrs.html: each attribute in order, True as a bare name, False left out."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_string_format(value)}"'
        for name, value in attrs.items() if value is not False
    )


def _input(widget: dict) -> str:
    """input.html."""
    value = "" if widget["value"] is None else f' value="{_string_format(widget["value"])}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _option(option: dict) -> str:
    """select_option.html, with the newline that ends the file (the include keeps it)."""
    return f'<option value="{_string_format(option["value"])}"{_attrs(option["attrs"])}>{_text(option["label"])}</option>\n'


def _select(widget: dict) -> str:
    """select.html, whose options are all select_option.html."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        parts.extend(f"\n  {_option(option)}" for option in options)
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    def __init__(self) -> None:
        super().__init__()
        self._written_in_python: dict[str, bool] = {}

    def render(self, template_name, context, request=None):
        widget = context.get("widget") if isinstance(context, dict) else None
        if widget is not None and self._is_djangos(template_name):
            if template_name == _SELECT and all(
                    option.get("template_name") == _OPTION for _name, options, _index in widget["optgroups"]
                    for option in options) and self._is_djangos(_OPTION):
                return mark_safe(_select(widget))
            if template_name != _SELECT and "type" in widget:
                return mark_safe(_input(widget))
        return super().render(template_name, context, request=request)

    def _is_djangos(self, template_name: str) -> bool:
        """Whether ``template_name`` and what it includes are Django's own files, unchanged (asked once each)."""
        known = self._written_in_python.get(template_name)
        if known is None:
            known = self._written_in_python[template_name] = self._check(template_name)
        return known

    def _check(self, template_name: str) -> bool:
        if template_name in (_SELECT, _OPTION, _INPUT):  # each includes attrs.html
            return self._own_file(template_name) and self._own_file(_ATTRS)
        return (self._own_file(template_name)
                and (_DJANGO_FORM_TEMPLATES / template_name).read_text() == _INCLUDES_INPUT
                and self._check(_INPUT))

    def _own_file(self, template_name: str) -> bool:
        try:
            origin = self.get_template(template_name).origin
        except TemplateDoesNotExist:
            return False
        return Path(origin.name).resolve() == (_DJANGO_FORM_TEMPLATES / template_name).resolve()
