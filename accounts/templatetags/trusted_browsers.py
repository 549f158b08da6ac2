"""{% load trusted_browsers %}: the Profile's Trusted browsers, for accounts/_trusted_browsers.html."""
from django import template

from accounts import trusted_browsers

register = template.Library()


@register.simple_tag(takes_context=True)
def trusted_browser_rows(context: template.Context) -> dict:
    """Return the browsers that skip step 2 for this user (this one marked) and whether trust is on."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"rows": [], "enabled": False}
    rows = trusted_browsers.trusted_browser_rows(
        request.user, current_token=request.COOKIES.get(trusted_browsers.cookie_name(), ""))
    return {"rows": rows, "enabled": trusted_browsers.trust_period_for(request.user) is not None}
