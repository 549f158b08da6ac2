"""{% load mfa_sms %}: Text Messages pieces other apps' pages show (the Profile)."""
from django import template

from mfa.sms.selectors import texts_sent

register = template.Library()


@register.simple_tag
def sms_texts_sent(user) -> list:
    """Return the user's recent texts (numbers masked) for the sign-in activity list."""
    if getattr(user, "pk", None) is None:
        return []
    return texts_sent(user)
