"""{% load breadcrumbs %}: one breadcrumb trail, the same everywhere (templates/_breadcrumbs.html).

    {% breadcrumbs _("Account Details") profile_url _("Profile") profile_url %}

Arguments alternate label and URL, from the top to the current page. Every
crumb is a link, the last one too. The last is marked aria-current="page"
when it is this very page, else "location": a method's Disable page ends its
trail on the method, the section it is in.
"""
from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.inclusion_tag("_breadcrumbs.html", takes_context=True)
def breadcrumbs(context: template.Context, *labels_and_urls) -> dict:
    """Return the crumbs as (label, url) pairs and what the last one is to this page."""
    if len(labels_and_urls) % 2:
        raise template.TemplateSyntaxError("breadcrumbs takes pairs of label and URL")
    pairs = list(zip(labels_and_urls[::2], labels_and_urls[1::2], strict=True))
    request = context.get("request")
    here = request is not None and bool(pairs) and urlsplit(str(pairs[-1][1])).path == request.path
    return {"crumbs": pairs, "current": "page" if here else "location"}
