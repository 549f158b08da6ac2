"""The "require two-factor" policy: who is bound, by when, and whether they comply.

Every request of a signed-in user asks ``requirement_for``; the agencies'
rule is cached per user and costs one SQL query when it is not (the entry
is dropped when the policy or a membership changes). Whether the user
complies comes from the method states loaded with the user each request.

The cache is only a shortcut: while Redis is unreachable the answer comes
from the database, so signed-in pages keep working and the policy stays
enforced, and dropping an entry never fails the change that caused it.
"""
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime

from agencies.memberships import memberships_of
from agencies.models import Agency, Membership
from agencies.user_cache import PerUserCache
from ctm_auth import clock
from mfa.registry import all_methods, method_states

logger = logging.getLogger(__name__)

CACHE_TIMEOUT = 15 * 60


@dataclass(frozen=True)
class TwoFactorRequirement:
    """What the user's agencies require of them (the strictest rule wins), and the user's state.

    ``allowed_methods`` and ``backup_codes_allowed`` bind only while two-factor
    is required; the trusted-browser period and the step-up window bind on
    every eligible agency whatever the requirement.
    """

    required: bool = False
    deadline: datetime | None = None  # earliest deadline among requiring agencies
    deadline_agency: str = ""  # the name of the agency whose deadline that is
    #: True when the user has a primary method the policy allows.
    has_primary_method: bool = False
    #: Keys of the primary methods allowed (the intersection over requiring agencies); None: any.
    allowed_methods: frozenset[str] | None = None
    backup_codes_allowed: bool = True
    #: The longest trust a browser may get, in days: None leaves the app's default, 0 turns trust off.
    trusted_browser_days: int | None = None
    #: The step-up window in minutes; None leaves the app's default.
    step_up_minutes: int | None = None

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

    def allows(self, method) -> bool:
        """True when step 2, step-up and set-up may offer ``method`` to this user."""
        if not self.required:
            return True
        if method.is_primary:
            return self.allowed_methods is None or method.key in self.allowed_methods
        if method.key == BACKUP_CODES_KEY:
            return self.backup_codes_allowed
        return True  # other recovery (an administrator's temporary access pass) is the policy's own way back


NOT_REQUIRED = TwoFactorRequirement()
BACKUP_CODES_KEY = "backup_codes"


_ANSWERS = PerUserCache(name="two-factor policy", key_prefix="2fa-policy", timeout=CACHE_TIMEOUT,
                        logger=logger, compute=lambda user: _compute(user).__dict__)


def eligible_agencies():
    """Agencies whose plan lets the Owner set a security policy (Growth and Connect)."""
    return Agency.objects.filter(plan__allows_required_two_factor=True)


def requiring_agencies():
    """Agencies whose owner turned the policy on and whose plan includes it."""
    return eligible_agencies().filter(require_two_factor=True)


def allowed_primary_keys(agency: Agency) -> frozenset[str] | None:
    """The primary methods ``agency`` allows (None: any), ignoring keys of methods not enabled here."""
    if not agency.allowed_methods:
        return None
    return frozenset(agency.allowed_methods)


POLICY_FIELDS = ("agency__name", "agency__require_two_factor", "agency__two_factor_deadline",
                 "agency__allowed_methods", "agency__allow_backup_codes", "agency__allow_trusted_browsers",
                 "agency__trusted_browser_days", "agency__step_up_minutes")


def _compute(user) -> TwoFactorRequirement:
    """The agencies' rule from the user's memberships (one query, shared), for the cache.

    Its ``has_primary_method`` is not kept: requirement_for works it out
    again on every request from the states loaded with the user.
    """
    rows = sorted((row for row in memberships_of(user) if row["agency__plan__allows_required_two_factor"]),
                  key=lambda row: row["agency_id"])
    if not rows:
        return NOT_REQUIRED
    return combine(rows)


def combine(rows: list[dict]) -> TwoFactorRequirement:
    """The strictest rule over the user's eligible agencies (``rows`` holds POLICY_FIELDS).

    ``has_primary_method`` is left False: it is the user's, not the agencies' (requirement_for).
    """
    requiring = [row for row in rows if row["agency__require_two_factor"]]
    allowed: frozenset[str] | None = None
    for row in requiring:
        if row["agency__allowed_methods"]:
            keys = frozenset(row["agency__allowed_methods"])
            allowed = keys if allowed is None else allowed & keys
    dated = sorted((row for row in requiring if row["agency__two_factor_deadline"] is not None),
                   key=lambda row: row["agency__two_factor_deadline"])
    # No deadline on a requiring agency means "at once": it is then the earliest.
    first = next((row for row in requiring if row["agency__two_factor_deadline"] is None), None) or next(
        iter(dated), None)
    return TwoFactorRequirement(
        required=bool(requiring),
        deadline=first["agency__two_factor_deadline"] if first else None,
        deadline_agency=first["agency__name"] if first else "",
        allowed_methods=allowed,
        backup_codes_allowed=all(row["agency__allow_backup_codes"] for row in requiring),
        trusted_browser_days=min(
            row["agency__trusted_browser_days"] if row["agency__allow_trusted_browsers"] else 0 for row in rows
        ),
        step_up_minutes=min(row["agency__step_up_minutes"] for row in rows),
    )


def _has_allowed_primary(active: set[str], allowed: frozenset[str] | None) -> bool:
    primary = {method.key for method in all_methods() if method.is_primary}
    return any(key in primary and (allowed is None or key in allowed) for key in active)


def requirement_for(user) -> TwoFactorRequirement:
    """Return the user's requirement: the agencies' rule from the cache when possible, else from the database.

    Whether the user complies is never taken from the cache. It comes from
    the method states this request loaded with the user, so a method
    removed a moment ago on another server counts at once, even if a
    request that began before the removal stored the rule after it.
    """
    if getattr(user, "pk", None) is None:
        return NOT_REQUIRED
    rule = TwoFactorRequirement(**_ANSWERS.get_for(user))
    active = {key for key, on in method_states(user).items() if on}
    return replace(rule, has_primary_method=_has_allowed_primary(active, rule.allowed_methods))


def forget_user(user_id: int) -> None:
    """Drop the user's cached answer; never fails the change that made it stale."""
    _ANSWERS.forget([user_id])


def forget_agency(agency: Agency) -> None:
    """Drop the cached answers of the agency's members; never fails the policy change."""
    _ANSWERS.forget(Membership.objects.filter(agency=agency).values_list("user_id", flat=True))
