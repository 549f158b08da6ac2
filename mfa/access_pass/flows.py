"""Temporary access pass business logic: issue, revoke, use at sign-in, expire.

Each write audits through accounts.audit.record and emails the user through
accounts.notify.send, in the same transaction. Audit data and emails never
hold the pass. The administrator's role is checked again by the caller's
``may_manage`` (agencies builds on mfa: this module imports no agencies code).
"""
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import audit, notify
from accounts.client import client_ip
from accounts.models import User
from ctm_auth import clock
from mfa.access_pass import passes, selectors
from mfa.access_pass.models import MAX_LIFETIME_HOURS, MIN_LIFETIME_HOURS, AccessPass, Status
from mfa.base import VerifyResult
from mfa.registry import has_primary_method

METHOD_KEY = "access_pass"

ISSUED = "access_pass.issued"
USED = "access_pass.used"
REVOKED = "access_pass.revoked"
EXPIRED = "access_pass.expired"

EMAIL = "mfa/access_pass/email/"


class AccessPassError(Exception):
    """A refused action. ``error`` is a stable code, ``message`` the wording."""

    def __init__(self, error: str, message: str):
        super().__init__(error)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class IssuedPass:
    """A pass just issued: ``display`` is shown once to the administrator and exists nowhere else."""

    access_pass: AccessPass
    display: str


def lifetime_refusal(lifetime_hours) -> str | None:
    """Return why ``lifetime_hours`` is refused, or None for a whole number of hours from 1 to 72."""
    if isinstance(lifetime_hours, bool) or not isinstance(lifetime_hours, int) or not (
            MIN_LIFETIME_HOURS <= lifetime_hours <= MAX_LIFETIME_HOURS):
        return _("A temporary access pass lasts from %(min)d to %(max)d hours.") % {
            "min": MIN_LIFETIME_HOURS, "max": MAX_LIFETIME_HOURS}
    return None


# --- issuing and revoking (an administrator) --------------------------------------

def issue_pass(request: HttpRequest | None, *, actor: User, target: User, agency,
               lifetime_hours: int, may_manage: Callable[[User, User, object], bool]) -> IssuedPass:
    """Issue ``target`` a new pass valid ``lifetime_hours``, revoking the one they had.

    ``may_manage(actor, target, agency)`` is the agency's role rule, checked
    again here so no caller can skip it. The target's row is locked, so two
    administrators issuing at once leave one pass, and the partial unique
    constraint would refuse a second active one anyway.
    """
    if not may_manage(actor, target, agency):
        raise PermissionDenied("actor may not issue a pass to this user")
    refusal = lifetime_refusal(lifetime_hours)
    if refusal:
        raise AccessPassError("invalid_lifetime", refusal)
    normal = passes.generate()
    with transaction.atomic():
        locked = _lock_user(target)
        if not has_primary_method(locked):
            raise AccessPassError("no_method", _(
                "%(email)s has no two-factor method, so they sign in with their password alone. A temporary "
                "access pass is for someone who lost theirs.") % {"email": locked.email})
        now = clock.now()
        replaced = _retire_active(request, locked, actor=actor, now=now)
        access_pass = AccessPass.objects.create(
            user=locked, name="Temporary access pass", confirmed=True, lookup=passes.lookup_hash(locked.pk, normal),
            issued_by=actor, agency=agency, lifetime_hours=lifetime_hours, created_at=now,
            expires_at=now + timedelta(hours=lifetime_hours))
        audit.record(request, ISSUED, actor=actor, target=locked, agency=agency, method=METHOD_KEY,
                     data={**_facts(access_pass), "replaced": replaced})
        notify.send(locked, EMAIL + "issued", _email_context(request, access_pass, actor=actor, replaced=replaced))
    return IssuedPass(access_pass=access_pass, display=passes.display(normal))


def revoke_pass(request: HttpRequest | None, *, actor: User, target: User, agency,
                may_manage: Callable[[User, User, object], bool]) -> bool:
    """Revoke ``target``'s live pass; return False when they had none (nothing changes)."""
    if not may_manage(actor, target, agency):
        raise PermissionDenied("actor may not revoke this user's pass")
    with transaction.atomic():
        locked = _lock_user(target)
        live = AccessPass.objects.live().filter(user=locked).first()
        if live is None or not _mark_revoked(live, actor=actor, now=clock.now()):
            return False
        audit.record(request, REVOKED, actor=actor, target=locked, agency=agency, method=METHOD_KEY,
                     data={**_facts(live), "reason": "revoked"})
        notify.send(locked, EMAIL + "revoked", _email_context(request, live, actor=actor))
    return True


def revoke_all(user: User) -> int:
    """Revoke every active pass of ``user`` (Method.remove_all: a reset, or the last primary method gone)."""
    return AccessPass.objects.filter(user=user, status=Status.ACTIVE).update(
        status=Status.REVOKED, revoked_at=clock.now())


def _lock_user(user: User) -> User:
    """Lock the user's row: issuing and revoking for one user run one at a time.

    FOR NO KEY UPDATE (PostgreSQL) still lets rows pointing at the user be
    inserted meanwhile (an audit event of a sign-in), so nothing deadlocks.
    """
    no_key = connection.features.has_select_for_no_key_update
    return User.objects.select_for_update(no_key=no_key).get(pk=user.pk)


def _retire_active(request, user: User, *, actor: User, now) -> bool:
    """End the user's active pass before a new one: revoked if still live, expired if its time ran out."""
    replaced = False
    for old in AccessPass.objects.filter(user=user, status=Status.ACTIVE):
        if old.expires_at <= now:
            _expire_one(old, now=now)
        elif _mark_revoked(old, actor=actor, now=now):
            audit.record(request, REVOKED, actor=actor, target=user, agency=old.agency, method=METHOD_KEY,
                         data={**_facts(old), "reason": "replaced"})
            replaced = True
    return replaced


def _mark_revoked(access_pass: AccessPass, *, actor: User | None, now) -> bool:
    """Conditional on the pass being active still: a sign-in using it right now wins or loses cleanly."""
    done = AccessPass.objects.filter(pk=access_pass.pk, status=Status.ACTIVE).update(
        status=Status.REVOKED, revoked_at=now, revoked_by=actor) == 1
    if done:
        access_pass.status, access_pass.revoked_at, access_pass.revoked_by = Status.REVOKED, now, actor
    return done


# --- sign-in step 2 --------------------------------------------------------------

def _not_valid_message() -> str:
    return _("That temporary access pass is not valid. It may have been used, revoked or expired. "
             "Ask your administrator for a new one.")


def verify_pass(request: HttpRequest, *, user: User, code: str, purpose: str) -> VerifyResult:
    """Check a typed pass and use it up; the method's verify() at sign-in step 2.

    Never accepted for step-up: a pass lets its user in to set up a new
    method, and proves nothing more. A wrong pass, another user's, one used,
    revoked or expired all get the same message and count towards the
    throttle of the user's live pass. The conditional UPDATE is the
    single-use guarantee: of two sign-ins racing with one pass, the database
    lets exactly one change the row.
    """
    if purpose != "sign_in":
        return VerifyResult(ok=False, error="sign_in_only", message=_(
            "A temporary access pass only works to sign in. Confirm it's you with another method."))
    try:
        normal = passes.normalise(code)
    except passes.InvalidInput as invalid:  # cannot match any pass: not counted
        return VerifyResult(ok=False, error=invalid.error, message=invalid.message)
    live = selectors.live_pass(user)
    if live is None:
        return VerifyResult(ok=False, error="not_valid", message=_not_valid_message())
    allowed, info = live.verify_is_allowed()
    if not allowed:
        wait = max(1, math.ceil((info["locked_until"] - clock.now()).total_seconds()))
        return VerifyResult(ok=False, error="throttled", message=_throttled_message(wait), retry_after=wait)
    now = clock.now()
    with transaction.atomic():
        won = constant_time_compare(live.lookup, passes.lookup_hash(user.pk, normal)) and AccessPass.objects.filter(
            pk=live.pk, user=user, status=Status.ACTIVE, expires_at__gt=now,
        ).update(status=Status.USED, used_at=now, devices_at_use=sorted(selectors.primary_device_hashes(user))) == 1
        if not won:
            live.throttle_increment()
            return VerifyResult(ok=False, error="not_valid", message=_not_valid_message())
        live.refresh_from_db()
        audit.record(request, USED, actor=user, target=user, agency=live.agency, method=METHOD_KEY,
                     data=_facts(live))
        notify.send(user, EMAIL + "used", _email_context(request, live))
    return VerifyResult(ok=True, device=live)


def _throttled_message(wait: int) -> str:
    if wait < 60:
        return ngettext("Too many attempts. Try again in %(count)d second.",
                        "Too many attempts. Try again in %(count)d seconds.", wait) % {"count": wait}
    minutes = math.ceil(wait / 60)
    return ngettext("Too many attempts. Try again in %(count)d minute.",
                    "Too many attempts. Try again in %(count)d minutes.", minutes) % {"count": minutes}


# --- after the sign-in: the new primary method ---------------------------------------

def settle_if_set_up(user: User, access_pass: AccessPass, *, allowed_methods) -> bool:
    """Mark the pass settled once the user has a primary device (of ``allowed_methods``) they lacked at use.

    Returns True when the requirement is over (now or before).
    """
    known = set(access_pass.devices_at_use or [])
    if not selectors.primary_device_hashes(user, allowed_methods) - known:
        return False
    AccessPass.objects.filter(pk=access_pass.pk, settled_at__isnull=True).update(settled_at=clock.now())
    return True


# --- expiry (Celery beat) --------------------------------------------------------

def expire_passes() -> int:
    """Mark every pass past its expiry as expired; audit and email each exactly once; return how many.

    Each pass ends in a transaction of its own with a conditional UPDATE, so
    two sweeps running at once (two beats, a retry) never tell anyone twice.
    """
    now = clock.now()
    ids = list(AccessPass.objects.filter(status=Status.ACTIVE, expires_at__lte=now).values_list("pk", flat=True))
    expired = 0
    for access_pass in AccessPass.objects.filter(pk__in=ids).select_related("user", "agency"):
        with transaction.atomic():
            expired += _expire_one(access_pass, now=now)
    return expired


def _expire_one(access_pass: AccessPass, *, now) -> int:
    if AccessPass.objects.filter(pk=access_pass.pk, status=Status.ACTIVE, expires_at__lte=now).update(
            status=Status.EXPIRED) != 1:
        return 0
    access_pass.status = Status.EXPIRED
    audit.record(None, EXPIRED, actor=None, target=access_pass.user, agency=access_pass.agency, method=METHOD_KEY,
                 data=_facts(access_pass))
    notify.send(access_pass.user, EMAIL + "expired", _email_context(None, access_pass))
    return 1


def _facts(access_pass: AccessPass) -> dict:
    """What the audit log keeps about a pass: never the pass, nor its hash."""
    return {"pass_id": access_pass.pk, "lifetime_hours": access_pass.lifetime_hours,
            "expires_at": access_pass.expires_at.isoformat()}


def _email_context(request: HttpRequest | None, access_pass: AccessPass, **extra) -> dict:
    return {"when": clock.now(), "ip_address": (client_ip(request) if request is not None else None) or "",
            "access_pass": access_pass, "agency": access_pass.agency, "issued_by": access_pass.issued_by,
            **extra}
