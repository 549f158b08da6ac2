"""A user's memberships, read once per request, for the answers cached per user.

The two-factor policy (agencies.policy), the agency's time zone
(agencies.preferences) and the Settings menu (agencies.navigation) are each
cached per user, and each is computed from the same rows: the user's
memberships with their agencies. When the cache misses them all (a user's
first page in a quarter hour), one query serves the three.
"""
from agencies.models import Membership

_MEMO_ATTR = "_agency_memberships"
# Moved when any membership or agency is saved or deleted (agencies.signals):
# a request that changes one reads the rows again.
_generation = 0

FIELDS = (
    "pk", "agency_id", "role", "agency__name", "agency__time_zone", "agency__plan__allows_required_two_factor",
    "agency__require_two_factor", "agency__two_factor_deadline", "agency__allowed_methods",
    "agency__allow_backup_codes", "agency__allow_trusted_browsers", "agency__trusted_browser_days",
    "agency__step_up_minutes",
)


def memberships_of(user) -> list[dict]:
    """The user's memberships (FIELDS of each), oldest first; one query per request object."""
    memo = getattr(user, _MEMO_ATTR, None)
    if memo is not None and memo[0] == _generation:
        return memo[1]
    generation = _generation
    rows = list(Membership.objects.filter(user_id=user.pk).order_by("pk").values(*FIELDS))
    setattr(user, _MEMO_ATTR, (generation, rows))
    return rows


def memberships_changed() -> None:
    global _generation
    _generation += 1
