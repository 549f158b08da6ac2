"""ctm_auth.template_i18n: {% load i18n %} as Django's, with a literal {% translate %} kept per language."""
from django.core import checks
from django.template import engines
from django.templatetags import i18n as django_i18n
from django.utils import translation

from ctm_auth.template_i18n import LiteralTranslateNode


def _render(source: str, language: str, **context) -> str:
    template = engines["django"].from_string(source)
    with translation.override(language):
        return template.render(context)


def test_one_template_gives_each_language_its_own_words_however_often_it_alternates():
    template = "{% load i18n %}{% translate 'Profile' %}|{% translate 'Sign out' as leave %}{{ leave }}"

    for _ in range(3):
        assert _render(template, "es") == "Perfil|Cerrar sesión"
        assert _render(template, "en") == "Profile|Sign out"


def test_a_literal_is_kept_per_node_and_anything_else_renders_as_djangos():
    template = engines["django"].from_string(
        "{% load i18n %}{% translate 'Profile' %}{% translate word %}{% translate 'Profile'|upper %}"
        "{% translate 'May' context 'alt. month' %}")
    nodes = [type(node) for node in template.template.nodelist if isinstance(node, django_i18n.TranslateNode)]
    assert nodes == [LiteralTranslateNode, django_i18n.TranslateNode, django_i18n.TranslateNode,
                     django_i18n.TranslateNode]

    with translation.override("es"):
        assert template.render({"word": "Profile"}) == "PerfilPerfilPERFILmayo"
        assert template.render({"word": "Sign out"}) == "PerfilCerrar sesiónPERFILmayo"


def test_the_replaced_library_raises_no_warning_but_any_other_clash_still_would():
    assert [message for message in checks.run_checks(tags=[checks.Tags.templates])
            if message.id == "templates.W003"] == []
    engine = engines["django"].engine
    libraries = engine.libraries
    engine.libraries = {**libraries, "static": "ctm_auth.template_i18n"}
    try:
        clashes = [message.msg for message in engines["django"].check() if message.id == "templates.W003"]
    finally:
        engine.libraries = libraries
    assert clashes == ["'static' is used for multiple template tag modules: "
                       "'ctm_auth.template_i18n', 'django.templatetags.static'"]
