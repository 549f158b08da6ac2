"""The "require two-factor" policy: who is bound, by when, and whether they comply.

Every request of a signed-in user asks ``requirement_for``; the answer is
cached per user and costs one SQL query when it is not. The cache entry is
dropped when the policy, a membership or one of the user's devices changes.

The cache is only a shortcut: while Redis is unreachable the answer comes
from the database, so signed-in pages keep working and the policy stays
enforced, and dropping an entry never fails the change that caused it.
"""
import logging
import math
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Subquery

from agencies.models import Agency, Membership
from ctm_auth import clock
from ctm_auth.faults import CACHE_ERRORS
from mfa.registry import active_method_annotations, all_methods

logger = logging.getLogger(__name__)

CACHE_TIMEOUT = 15 * 60


@dataclass(frozen=True)
class TwoFactorRequirement:
    """Whether an agency of the user requires two-factor, and the user's state."""

    required: bool = False
    deadline: datetime | None = None  # earliest deadline among requiring agencies
    has_primary_method: bool = False

    def enforced(self, now: datetime | None = None) -> bool:
        """True when the user must set up two-factor before doing anything else."""
        if not self.required or self.has_primary_method:
            return False
        return self.deadline is None or self.deadline <= (now or clock.now())

    def in_grace_period(self, now: datetime | None = None) -> bool:
        return self.required and not self.has_primary_method and not self.enforced(now)

    def days_left(self, now: datetime | None = None) -> int:
        if self.deadline is None:
            return 0
        seconds = (self.deadline - (now or clock.now())).total_seconds()
        return max(0, math.ceil(seconds / 86400))


NOT_REQUIRED = TwoFactorRequirement()


def _cache_key(user_id: int) -> str:
    return f"2fa-policy:user:{user_id}"


def requiring_agencies():
    """Agencies whose owner turned the policy on and whose plan includes it."""
    return Agency.objects.filter(require_two_factor=True, plan__allows_required_two_factor=True)


def _compute(user) -> TwoFactorRequirement:
    """Read the requirement with one query, however many methods and agencies there are."""
    from accounts.models import User

    binding = requiring_agencies().filter(memberships__user=OuterRef("pk"))
    annotations = {
        "required": Exists(binding),
        "deadline": Subquery(binding.order_by("two_factor_deadline").values("two_factor_deadline")[:1]),
        **active_method_annotations("pk"),
    }
    primary = [method for method in all_methods() if method.is_primary]
    row = User.objects.filter(pk=user.pk).annotate(**annotations).values(*annotations).first()
    if row is None:
        return NOT_REQUIRED
    return TwoFactorRequirement(
        required=row["required"],
        deadline=row["deadline"],
        has_primary_method=any(row[f"has_{method.key}"] for method in primary),
    )


def requirement_for(user) -> TwoFactorRequirement:
    """Return the user's requirement, from the cache when possible, else from the database."""
    if getattr(user, "pk", None) is None:
        return NOT_REQUIRED
    key = _cache_key(user.pk)
    try:
        cached = cache.get(key)
    except CACHE_ERRORS as error:
        # Skip the set too: a second call to a dead cache would only add its timeout.
        _log_cache_error("read", error)
        return _compute(user)
    if cached is not None:
        return TwoFactorRequirement(**cached)
    requirement = _compute(user)
    try:
        cache.set(key, requirement.__dict__, CACHE_TIMEOUT)
    except CACHE_ERRORS as error:
        _log_cache_error("store", error)
    return requirement


def forget_user(user_id: int) -> None:
    """Drop the user's cached answer; never fails the change that made it stale."""
    try:
        cache.delete(_cache_key(user_id))
    except CACHE_ERRORS as error:
        _log_cache_error("forget", error)


def forget_agency(agency: Agency) -> None:
    """Drop the cached answers of the agency's members; never fails the policy change."""
    user_ids = Membership.objects.filter(agency=agency).values_list("user_id", flat=True)
    try:
        cache.delete_many([_cache_key(user_id) for user_id in user_ids])
    except CACHE_ERRORS as error:
        _log_cache_error("forget", error)


def _log_cache_error(action: str, error: BaseException) -> None:
    logger.warning("two-factor policy: cache unavailable, could not %s an answer (%s)",
                   action, type(error).__name__)
