"""``{{ moment|when }}`` ("2 Dec 2026, 12:29 UTC") and ``{{ day|day }}`` ("2 Dec 2026").

A template builtin (settings TEMPLATES "builtins"), so every page, email and
text formats dates the same way without a {% load %}. See ctm_auth.dates.
"""
from django import template

from ctm_auth.dates import format_day, format_when

register = template.Library()


@register.filter(expects_localtime=False, is_safe=False)
def when(value) -> str:
    return format_when(value)


@register.filter(expects_localtime=False, is_safe=False)
def day(value) -> str:
    return format_day(value)
