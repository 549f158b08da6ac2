"""{% access_pass_state member as state %}: a member's latest pass, for Manage Users > Edit."""
from django import template

from mfa.access_pass import selectors

register = template.Library()


@register.simple_tag
def access_pass_state(user) -> selectors.PassState:
    return selectors.state_for(user)
