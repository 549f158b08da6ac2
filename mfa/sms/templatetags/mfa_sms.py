"""{% load mfa_sms %}: Text Messages pieces other apps' pages show (the Profile)."""
from django import template

from mfa.registry import get_method
from mfa.sms.selectors import texts_sent

register = template.Library()


@register.simple_tag
def sms_texts_sent(user) -> list:
    """Return the user's recent texts (numbers masked) for the sign-in activity list.

    Only while Text Messages is on: without a phone no text goes out, and the
    Profile would pay a query for an empty list (the states are known already).
    """
    method = get_method("sms")
    if getattr(user, "pk", None) is None or method is None or not method.is_active_for(user):
        return []
    return texts_sent(user)
