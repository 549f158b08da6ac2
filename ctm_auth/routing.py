"""Path checks shared by the middlewares that gate whole sessions."""
from django.conf import settings
from django.urls import Resolver404, ResolverMatch, resolve


def is_static_path(path: str) -> bool:
    return path.startswith("/" + settings.STATIC_URL.lstrip("/"))


def resolve_or_none(path: str) -> ResolverMatch | None:
    """Return the view a path routes to, or None for an unknown path (which stays gated)."""
    try:
        return resolve(path)
    except Resolver404:
        return None
