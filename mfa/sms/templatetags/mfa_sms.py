"""{% load mfa_sms %}: Text Messages pieces other apps' pages show (the Profile)."""
from django import template

from mfa.registry import get_method
from mfa.sms.selectors import texts_sent

register = template.Library()


@register.simple_tag
def sms_texts_sent(user) -> list:
    """Return the user's recent texts (numbers masked) for the sign-in activity list.

    Only while Text Messages is on (the states are known already, so the
    Profile pays no query for most users, who have no phone). The texts that
    matter there are the ones nobody asked for, sign-in and re-authentication
    codes, and those go only to a phone that is on. Set-up texts of a phone
    never confirmed, and the history of a phone since removed, are not listed.
    """
    method = get_method("sms")
    if getattr(user, "pk", None) is None or method is None or not method.is_active_for(user):
        return []
    return texts_sent(user)
