"""The agency's time zone, for members who chose none (ACCOUNTS_AGENCY_TIME_ZONE points here).

Every page of such a member asks for it, so the answer is cached per user,
like the two-factor policy (agencies.policy): a cache read per request, a
query only on a miss. It is forgotten when one of the user's memberships, or
an agency's row, changes (agencies.signals); the cache is only a shortcut and
an unreachable one falls back to the database.

A member of several agencies sees the zone of the agency they joined first.
"""
import logging

from django.core.cache import cache

from agencies.models import Agency, Membership
from ctm_auth.faults import CACHE_ERRORS

logger = logging.getLogger(__name__)

CACHE_TIMEOUT = 15 * 60


def _cache_key(user_id: int) -> str:
    return f"agency-time-zone:user:{user_id}"


def _read(user_id: int) -> str:
    zone = Membership.objects.filter(user_id=user_id).order_by("pk").values_list("agency__time_zone", flat=True)
    return next(iter(zone), "")


def agency_time_zone(user) -> str:
    """Return the time zone of the user's (first) agency, or "" when they belong to none."""
    key = _cache_key(user.pk)
    try:
        cached = cache.get(key)
    except CACHE_ERRORS as error:
        _log_cache_error("read", error)
        return _read(user.pk)
    if cached is not None:
        return cached
    zone = _read(user.pk)
    try:
        cache.set(key, zone, CACHE_TIMEOUT)
    except CACHE_ERRORS as error:
        _log_cache_error("store", error)
    return zone


def forget_users(user_ids) -> None:
    """Drop the cached zones of these users; never fails the change that made them stale."""
    try:
        cache.delete_many([_cache_key(user_id) for user_id in user_ids])
    except CACHE_ERRORS as error:
        _log_cache_error("forget", error)


def forget_agency(agency: Agency) -> None:
    forget_users(list(Membership.objects.filter(agency=agency).values_list("user_id", flat=True)))


def _log_cache_error(action: str, error: BaseException) -> None:
    logger.warning("agency time zone: cache unavailable, could not %s an answer (%s)", action, type(error).__name__)
