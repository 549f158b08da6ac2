"""``{% load i18n %}`` as Django's, with ``{% translate "a literal" %}`` remembered per language.

The base template and the Profile say "Profile", "Sign out", "Method"... some
fifty times a page, and each ``{% translate %}`` asks gettext anew: the
active translation (a thread-local), a search of the catalogs, the
escaping. That was a sixth of the Profile's rendering. A literal message
with no filters gives the same text on every render in one language, so its
node keeps that text per (language, autoescape). A ``{% translate %}`` of a
variable, one with a context or filters, and ``{% blocktranslate %}`` render
exactly as Django's.

settings.TEMPLATES names this module as the ``i18n`` library, so templates
keep ``{% load i18n %}`` and makemessages reads them as before, and uses the
backend below, whose check knows that this one replacement is deliberate.
"""
from django.core.signals import setting_changed
from django.template import Library
from django.template.backends import django as django_backend
from django.templatetags import i18n as django_i18n
from django.utils import translation

register = Library()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)

# Moves when the catalogs can change (a test's LANGUAGES or LOCALE_PATHS):
# every remembered text is then stale, as Django's own translation cache is.
_catalogs_generation = 0


class LiteralTranslateNode(django_i18n.TranslateNode):
    """``{% translate "literal" %}`` (optionally ``noop`` or ``as name``), rendered once per language."""

    def __init__(self, filter_expression, noop, store_as: str | None):
        # Django's node renders the text (no asvar: it never stores); this one stores it.
        super().__init__(filter_expression, noop)
        self.store_as = store_as
        self._rendered: tuple[int, dict] = (_catalogs_generation, {})

    def render(self, context):
        generation, rendered = self._rendered
        if generation != _catalogs_generation:
            rendered = {}
            self._rendered = (_catalogs_generation, rendered)
        key = (translation.get_language(), context.autoescape)
        try:
            value = rendered[key]
        except KeyError:
            value = rendered[key] = super().render(context)
        if self.store_as:
            context[self.store_as] = value
            return ""
        return value


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    node = django_i18n.do_translate(parser, token)
    expression = node.filter_expression
    if expression.filters or node.message_context is not None or expression.var.literal is None:
        return node
    return LiteralTranslateNode(expression, node.noop, store_as=node.asvar)


def _forget_on_catalog_change(*, setting: str, **kwargs) -> None:
    global _catalogs_generation
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _catalogs_generation += 1


setting_changed.connect(_forget_on_catalog_change)


class DjangoTemplates(django_backend.DjangoTemplates):
    """Django's template backend; its check for two libraries of one name allows this module's ``i18n``.

    Any other clash (two apps shipping the same library name) still warns.
    """

    def _check_for_template_tags_with_the_same_name(self):
        replaced = f"'i18n' is used for multiple template tag modules: '{__name__}', '{django_i18n.__name__}'"
        return [warning for warning in super()._check_for_template_tags_with_the_same_name()
                if warning.msg != replaced]
