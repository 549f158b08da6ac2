"""{% load active_sessions %}: the Profile's Active sessions, for accounts/_active_sessions.html."""
from django import template

from accounts import sessions

register = template.Library()


@register.simple_tag(takes_context=True)
def active_sessions(context: template.Context) -> dict:
    """Return this user's working sessions (this one first) and whether any other is signed in."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"rows": [], "others": False}
    rows = sessions.active_sessions(request.user, current_key=request.session.session_key)
    return {"rows": rows, "others": any(not row.is_current for row in rows)}
