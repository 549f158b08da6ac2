"""The outside services a request may find down, and the errors that say so.

Redis (the shared cache) and PostgreSQL fail sometimes. Code that can do
without the cache catches CACHE_ERRORS and falls back to the database; code
that must not go on without it (rate limits, which fail closed) raises
CacheUnavailable, which ServiceUnavailableMiddleware turns into a plain 503.
"""
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

# What Django's cache backends raise when their server is unreachable or slow.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

# What the database raises when it is unreachable (or restarting).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


class CacheUnavailable(Exception):
    """The shared cache could not be reached, so a limit could not be checked (fail closed)."""

    def __init__(self, what: str = "cache"):
        super().__init__(what)
        self.what = what


def unavailable_part(exc: BaseException | None) -> str:
    """Return "cache" or "database" when ``exc`` means that service is down, else ""."""
    if isinstance(exc, CacheUnavailable) or isinstance(exc, RedisError):
        return "cache"
    if isinstance(exc, DATABASE_ERRORS):
        return "database"
    return ""
