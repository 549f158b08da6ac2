"""Agency writes: tenants and memberships, member resets and the two-factor policy.

Each flow checks authorisation again (views already did), writes in one
transaction, audits with the actor, and emails after the commit.
"""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts import audit, delivery, notify, trusted_browsers
from accounts.app_settings import app_settings as accounts_settings
from agencies import permissions, policy, selectors
from agencies.app_settings import app_settings
from agencies.models import Agency, Membership, Plan, Role, SubAccount
from ctm_auth import clock
from mfa.base import Method
from mfa.flows import destroy_fallbacks_if_no_primary
from mfa.registry import has_primary_method

MEMBER_METHOD_RESET = "agency.member_method_reset"
TWO_FACTOR_POLICY_CHANGED = "agency.two_factor_policy_changed"


class PolicyError(Exception):
    """The policy change is not allowed; ``code`` is stable, the message is shown."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


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


def set_two_factor_policy(request: HttpRequest, *, actor, agency: Agency, required: bool, grace_days: int) -> Agency:
    """Turn "Require two-factor authentication" on or off for ``agency``."""
    if not permissions.can_change_security_policy(actor, agency):
        raise PermissionDenied
    if required and not agency.plan.allows_required_two_factor:
        raise PolicyError("plan_not_eligible", _("Your plan does not include requiring two-factor authentication."))
    if required and not has_primary_method(actor):
        raise PolicyError(
            "owner_without_two_factor",
            _("Turn on two-factor authentication for your own account before requiring it for everyone."),
        )
    with transaction.atomic():
        locked = Agency.objects.select_for_update().select_related("plan").get(pk=agency.pk)
        was_required = locked.require_two_factor
        now = clock.now()
        if required and not was_required:
            locked.two_factor_required_since = now
        locked.require_two_factor = required
        locked.two_factor_grace_days = grace_days if required else 0
        locked.two_factor_deadline = (
            locked.two_factor_required_since + timedelta(days=grace_days) if required else None
        )
        if not required:
            locked.two_factor_required_since = None
        locked.full_clean()
        locked.save()
        audit.record(request, TWO_FACTOR_POLICY_CHANGED, actor=actor, target=actor, agency=locked,
                     data={"required": required, "grace_days": locked.two_factor_grace_days,
                           "previously_required": was_required})
        # Forget now for this request, and again after the commit in case a
        # concurrent request cached the old answer in between.
        policy.forget_agency(locked)
        transaction.on_commit(lambda: policy.forget_agency(locked))
        if required != was_required:
            announce_policy(locked, required=required)
    return locked


def announce_policy(agency: Agency, *, required: bool) -> int:
    """Write one email per member without a method to the outbox; workers send them in batches.

    Called inside the policy change's transaction, so the announcement goes
    out exactly when the change commits, however many members there are.
    """
    template = "agencies/email/policy_on" if required else "agencies/email/policy_off"
    messages = [
        (user, user.email, notify.render(template, {**notify.base_context(user), "agency": agency}))
        for user in selectors.members_without_two_factor(agency)
    ]
    return delivery.enqueue_many(channel="email", kind=template, messages=messages,
                                 valid_for=accounts_settings.EMAIL_DEADLINE,
                                 batch_size=app_settings.POLICY_EMAIL_BATCH_SIZE)


# --- Tenants: agencies, subaccounts, memberships ---------------------------

def create_agency(*, name: str, plan_code: str, owner) -> Agency:
    """Create an agency with its Owner's membership, in one transaction."""
    with transaction.atomic():
        agency = Agency(name=name, plan=Plan.objects.get(code=plan_code))
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
