"""The agency's time zone, for members who chose none (ACCOUNTS_AGENCY_TIME_ZONE points here).

Every page of such a member asks for it, so the answer is cached per user,
like the two-factor policy (agencies.policy), through agencies.user_cache: a
cache read per request, a query only on a miss. It is forgotten when one of
the user's memberships, or an agency's row, changes (agencies.signals).

A member of several agencies sees the zone of the agency they joined first.
"""
import logging

from agencies.memberships import memberships_of
from agencies.models import Agency, Membership
from agencies.user_cache import PerUserCache

logger = logging.getLogger(__name__)

CACHE_TIMEOUT = 15 * 60
_ANSWERS = PerUserCache(
    name="agency time zone", key_prefix="agency-time-zone", timeout=CACHE_TIMEOUT, logger=logger,
    compute=lambda user: next((row["agency__time_zone"] for row in memberships_of(user)), ""),
)


def agency_time_zone(user) -> str:
    """Return the time zone of the user's (first) agency, or "" when they belong to none."""
    return _ANSWERS.get_for(user)


def forget_users(user_ids) -> None:
    """Drop the cached zones of these users; never fails the change that made them stale."""
    _ANSWERS.forget(user_ids)


def forget_agency(agency: Agency) -> None:
    forget_users(Membership.objects.filter(agency=agency).values_list("user_id", flat=True))
