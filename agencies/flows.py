"""Agency writes: tenants and memberships, member resets and the two-factor policy.

Each flow checks authorisation again (views already did), writes in one
transaction, audits with the actor, and emails after the commit.
"""
import math
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from accounts import audit, delivery, notify, trusted_browsers
from accounts.app_settings import app_settings as accounts_settings
from agencies import permissions, policy, selectors
from agencies import policy as policy_cache  # the policy flows' own ``policy`` is the SecurityPolicy argument
from agencies.app_settings import app_settings
from agencies.models import (
    DEFAULT_STEP_UP_MINUTES,
    TRUSTED_BROWSER_DAYS_RANGE,
    Agency,
    Membership,
    Plan,
    PolicyReminder,
    Role,
    SubAccount,
)
from ctm_auth import clock
from mfa.base import Method
from mfa.flows import destroy_fallbacks_if_no_primary
from mfa.registry import active_methods, has_primary_method

MEMBER_METHOD_RESET = "agency.member_method_reset"
TWO_FACTOR_POLICY_CHANGED = "agency.two_factor_policy_changed"


class PolicyError(Exception):
    """The policy change is not allowed; ``code`` is stable, the message is shown.

    ``methods`` are the methods the page links to the set-up of (the Owner's
    own account must comply first).
    """

    def __init__(self, code: str, message: str, *, methods: tuple = ()):
        super().__init__(message)
        self.code = code
        self.methods = methods


class NotAcknowledged(PolicyError):
    """The change blocks members at once and the Owner did not tick "I understand"; ``impact`` says who."""

    def __init__(self, message: str, *, impact):
        super().__init__("not_acknowledged", message)
        self.impact = impact


def plan_refusal(agency: Agency) -> PolicyError | None:
    """The refusal for an agency whose plan has no security policy (Growth and Connect do)."""
    if agency.plan.allows_required_two_factor:
        return None
    return PolicyError("plan_not_eligible", _("Your plan does not include requiring two-factor authentication."))


def reset_member_method(request: HttpRequest, *, actor, agency: Agency, target, method: Method) -> bool:
    """Disable ``method`` for ``target`` as an administrator; return False if it was not active.

    The target's row is locked, so two simultaneous resets run one after the
    other and the second finds nothing left to disable: no double audit, no
    second email. Their trusted browsers are revoked too: whoever asked for
    the reset may be the one holding a browser the member once trusted.
    """
    if not permissions.can_manage_user(actor, target, agency):
        raise PermissionDenied
    with transaction.atomic():
        # NO KEY UPDATE: enough to serialise resets, and it does not block
        # concurrent inserts that reference the user (audit rows, devices).
        locked = get_user_model().objects.select_for_update(no_key=True).get(pk=target.pk)
        if not method.active_devices(locked).exists():
            return False
        method.remove_all(locked)
        fallbacks_destroyed = destroy_fallbacks_if_no_primary(request, user=locked, actor=actor)
        locked.end_all_sessions()
        browsers_revoked = trusted_browsers.revoke_all_for(request, user=locked, actor=actor, agency=agency)
        audit.record(request, MEMBER_METHOD_RESET, actor=actor, target=locked, agency=agency, method=method.key,
                     data={"backup_codes_destroyed": bool(fallbacks_destroyed),
                           "trusted_browsers_revoked": browsers_revoked})
        notify.send(locked, "agencies/email/method_reset", {
            "actor": actor, "agency": agency, "method_label": method.label, "when": clock.now(),
            "backup_codes_destroyed": bool(fallbacks_destroyed), "trusted_browsers_revoked": browsers_revoked,
            "has_primary_method": has_primary_method(locked),
        })
    policy.forget_user(locked.pk)
    return True


@dataclass(frozen=True)
class SecurityPolicy:
    """Every setting of Settings > Parent Settings > Security, as the Owner chose them.

    ``allowed_methods`` holds primary method keys, [] meaning any (so a
    method enabled later is allowed too). ``as_data`` is the audit's shape.
    """

    required: bool
    grace_days: int
    allowed_methods: list[str] = field(default_factory=list)
    allow_backup_codes: bool = True
    allow_trusted_browsers: bool = True
    trusted_browser_days: int = TRUSTED_BROWSER_DAYS_RANGE[1]
    step_up_minutes: int = DEFAULT_STEP_UP_MINUTES

    @classmethod
    def of(cls, agency: Agency) -> "SecurityPolicy":
        return cls(required=agency.require_two_factor, grace_days=agency.two_factor_grace_days,
                   allowed_methods=list(agency.allowed_methods), allow_backup_codes=agency.allow_backup_codes,
                   allow_trusted_browsers=agency.allow_trusted_browsers,
                   trusted_browser_days=agency.trusted_browser_days, step_up_minutes=agency.step_up_minutes)

    def as_data(self) -> dict:
        return asdict(self)


class ConfirmationNeeded(Exception):
    """The change worsens some members' standing: show ``impact`` and save only when confirmed."""

    def __init__(self, impact: selectors.PolicyImpact):
        super().__init__("confirmation needed")
        self.impact = impact


def set_two_factor_policy(request: HttpRequest, *, actor, agency: Agency, required: bool, grace_days: int) -> Agency:
    """Turn "Require two-factor authentication" on or off for ``agency``, keeping its other settings."""
    current = SecurityPolicy.of(agency)
    enabled = {method.key for method in selectors.primary_methods()}
    policy = replace(current, required=required, grace_days=grace_days,
                     allowed_methods=[key for key in current.allowed_methods if key in enabled])
    return set_security_policy(request, actor=actor, agency=agency, policy=policy, confirmed=True,
                               acknowledged=True)


def set_security_policy(request: HttpRequest | None, *, actor, agency: Agency, policy: SecurityPolicy,
                        confirmed: bool = False, acknowledged: bool = False) -> Agency:
    """Save Settings > Parent Settings > Security for ``agency``.

    A change that makes members set up a method, or blocks anyone at once,
    raises ConfirmationNeeded unless ``confirmed``; one that blocks anyone
    also needs ``acknowledged`` (the Owner ticked "I understand ..."). The
    impact is counted again under the agency's lock, so what is confirmed is
    what the save does.
    """
    if not permissions.can_change_security_policy(actor, agency):
        raise PermissionDenied
    if refusal := plan_refusal(agency):
        raise refusal
    _check_allowed_methods(policy.allowed_methods)
    if policy.required:
        _check_owner_can_comply(actor, policy.allowed_methods)
    with transaction.atomic():
        locked = Agency.objects.select_for_update().select_related("plan").get(pk=agency.pk)
        before = SecurityPolicy.of(locked)
        now = clock.now()
        impact = selectors.policy_impact(locked, policy.allowed_methods, required=policy.required,
                                         grace_days=policy.grace_days, now=now)
        if impact.needs_preview and not confirmed:
            raise ConfirmationNeeded(impact)
        if impact.needs_acknowledgement and not acknowledged:
            raise NotAcknowledged(_("Tick “%(acknowledgement)s” to save.")
                                  % {"acknowledgement": impact.acknowledgement()}, impact=impact)
        _apply(locked, policy, now=now)
        locked.full_clean()
        locked.save()
        audit.record(request, TWO_FACTOR_POLICY_CHANGED, actor=actor, target=actor, agency=locked,
                     data={"before": before.as_data(), "after": SecurityPolicy.of(locked).as_data()})
        # Forget now for this request, and again after the commit in case a
        # concurrent request cached the old answer in between.
        policy_cache.forget_agency(locked)
        transaction.on_commit(lambda: policy_cache.forget_agency(locked))
        if policy.required != before.required:
            announce_policy(locked, required=policy.required,
                            allowed=None if policy.required else selectors.allowed_keys(before.allowed_methods))
        elif policy.required and before.allowed_methods != locked.allowed_methods:
            announce_policy(locked, required=True, newly_from=selectors.allowed_keys(before.allowed_methods))
    return locked


def _apply(agency: Agency, policy: SecurityPolicy, *, now) -> None:
    if policy.required and not agency.require_two_factor:
        agency.two_factor_required_since = now
    agency.two_factor_deadline = selectors.planned_deadline(agency, required=policy.required,
                                                            grace_days=policy.grace_days, now=now)
    agency.require_two_factor = policy.required
    agency.two_factor_grace_days = policy.grace_days if policy.required else 0
    if not policy.required:
        agency.two_factor_required_since = None
    agency.allowed_methods = _normalised_keys(policy.allowed_methods)
    agency.allow_backup_codes = policy.allow_backup_codes
    agency.allow_trusted_browsers = policy.allow_trusted_browsers
    agency.trusted_browser_days = policy.trusted_browser_days
    agency.step_up_minutes = policy.step_up_minutes


def _normalised_keys(keys: list[str]) -> list[str]:
    """Keys in settings order; [] when every enabled primary method is in, which means "any"."""
    primary = [method.key for method in selectors.primary_methods()]
    chosen = [key for key in primary if key in set(keys)]
    return [] if set(chosen) == set(primary) else chosen


def _check_allowed_methods(keys: list[str]) -> None:
    primary = {method.key for method in selectors.primary_methods()}
    if keys and (not set(keys) <= primary):
        raise PolicyError("unknown_method", _("Choose only methods from the list."))


def _check_owner_can_comply(actor, keys: list[str]) -> None:
    """The Owner must meet the rule they set, or they would lock themselves out first."""
    allowed = selectors.allowed_keys(keys)
    own = {method.key for method in active_methods(actor) if method.is_primary}
    methods = tuple(method for method in selectors.primary_methods() if method.key in allowed)
    if not own:
        raise PolicyError(
            "owner_without_two_factor",
            _("Turn on two-factor authentication for your own account first, before requiring it for everyone."),
            methods=methods,
        )
    if not own & allowed:
        raise PolicyError(
            "owner_without_allowed_method",
            _("Set up an allowed method for your own account first (%(methods)s), before requiring it for "
              "everyone.") % {"methods": get_text_list([str(method.label) for method in methods], _("or"))},
            methods=methods,
        )


def announce_policy(agency: Agency, *, required: bool, allowed: frozenset[str] | None = None,
                    newly_from: frozenset[str] | None = None) -> int:
    """Write one email per member concerned to the outbox; workers send them in batches.

    Turned on: every active member without a method the agency allows.
    Methods restricted while on (``newly_from``: the keys allowed before):
    those who had an allowed method and now have none, with the same email.
    Turned off: those who had none of the methods ``allowed`` until now.
    Called inside the policy change's transaction, so the announcement goes
    out exactly when the change commits, however many members there are.
    """
    template = "agencies/email/policy_on" if required else "agencies/email/policy_off"
    if not required:
        users = selectors.noncompliant_members(agency, allowed)
    elif newly_from is not None:
        users = selectors.members_newly_noncompliant(agency, before=newly_from,
                                                     after=selectors.allowed_keys(agency.allowed_methods))
    else:
        users = selectors.noncompliant_members(agency)
    deadline = agency.two_factor_deadline
    context = {"agency": agency, "deadline": deadline if deadline and deadline > clock.now() else None,
               **_set_up_context(agency)}
    messages = [
        (user, user.email, notify.render(template, {**notify.base_context(user), **context},
                                         time_zone=agency.time_zone))
        for user in users
    ]
    return delivery.enqueue_many(channel="email", kind=template, messages=messages,
                                 valid_for=accounts_settings.EMAIL_DEADLINE,
                                 batch_size=app_settings.POLICY_EMAIL_BATCH_SIZE)


def _methods_text(labels: list) -> str:
    return get_text_list([str(label) for label in labels], _("or"))


_methods_text = lazy(_methods_text, str)


def _set_up_context(agency: Agency) -> dict:
    """What the policy emails say about setting up: the allowed methods and the link."""
    allowed = selectors.allowed_keys(agency.allowed_methods)
    # Lazy: each email spells them in its recipient's language (notify.render).
    labels = [method.label for method in selectors.primary_methods() if method.key in allowed]
    return {"allowed_method_labels": labels, "allowed_methods_text": _methods_text(labels),
            "set_up_url": app_settings.SITE_URL + reverse("accounts:two_factor_required")}


# --- Reminders during a grace period ---------------------------------------

POLICY_REMINDER = "agencies/email/policy_reminder"


def send_policy_reminders(now: datetime | None = None) -> int:
    """Email each member not yet compliant 7, 3 and 1 days before their agency's deadline; return the count.

    Days are counted as the banner counts them (rounded up), so an hourly run
    sends each reminder in the first run of its day. A reminder's row is
    inserted before its email, in one transaction, and the unique constraint
    lets only one run insert it: two runs, or two workers, send it once.
    """
    now = now or clock.now()
    sent = 0
    agencies = policy_cache.requiring_agencies().filter(two_factor_deadline__gt=now).select_related("plan")
    for agency in agencies.order_by("pk"):
        days = math.ceil((agency.two_factor_deadline - now).total_seconds() / 86400)
        if days in app_settings.POLICY_REMINDER_DAYS:
            sent += _remind(agency, days_before=days)
    return sent


def _remind(agency: Agency, *, days_before: int) -> int:
    run = uuid.uuid4()
    with transaction.atomic():
        users = selectors.noncompliant_members(agency)
        PolicyReminder.objects.bulk_create(
            [PolicyReminder(agency=agency, user=user, deadline=agency.two_factor_deadline,
                            days_before=days_before, run=run) for user in users],
            batch_size=500, ignore_conflicts=True,
        )
        mine = set(PolicyReminder.objects.filter(run=run).values_list("user_id", flat=True))
        context = {"agency": agency, "days_left": days_before, "deadline": agency.two_factor_deadline,
                   **_set_up_context(agency)}
        messages = [
            (user, user.email, notify.render(POLICY_REMINDER, {**notify.base_context(user), **context},
                                             time_zone=agency.time_zone))
            for user in users if user.pk in mine
        ]
        return delivery.enqueue_many(channel="email", kind=POLICY_REMINDER, messages=messages,
                                     valid_for=accounts_settings.EMAIL_DEADLINE,
                                     batch_size=app_settings.POLICY_EMAIL_BATCH_SIZE)


# --- Tenants: agencies, subaccounts, memberships ---------------------------

def create_agency(*, name: str, plan_code: str, owner, country: str = "US", time_zone: str = "UTC") -> Agency:
    """Create an agency with its Owner's membership, in one transaction."""
    with transaction.atomic():
        agency = Agency(name=name, plan=Plan.objects.get(code=plan_code), country=country, time_zone=time_zone)
        agency.full_clean()
        agency.save()
        add_member(agency=agency, user=owner, role=Role.OWNER)
    return agency


def add_subaccount(*, agency: Agency, name: str) -> SubAccount:
    subaccount = SubAccount(agency=agency, name=name)
    subaccount.full_clean()
    subaccount.save()
    return subaccount


def add_member(*, agency: Agency, user, role: str, subaccounts: list[SubAccount] | None = None) -> Membership:
    with transaction.atomic():
        membership = Membership(agency=agency, user=user, role=role)
        membership.full_clean()
        membership.save()
        if subaccounts:
            membership.subaccounts.set(subaccounts)
    return membership
