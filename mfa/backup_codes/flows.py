"""Backup Codes business logic: every write, every reveal of a code, every check.

Each flow audits through accounts.audit.record and tells the user by email
through accounts.notify.send. Audit data never holds a code.
"""
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import audit, notify, trusted_browsers
from accounts.client import client_ip
from accounts.models import User
from agencies.models import Agency
from agencies.permissions import can_manage_user
from ctm_auth import clock
from mfa import policy
from mfa.backup_codes import codes, selectors
from mfa.backup_codes.app_settings import app_settings
from mfa.backup_codes.models import BackupCode, BackupCodeSet
from mfa.base import VerifyResult
from mfa.registry import has_primary_method

logger = logging.getLogger(__name__)

METHOD_KEY = "backup_codes"

GENERATED = "mfa.backup_codes.generated"
SAVED = "mfa.backup_codes.saved"
VIEWED = "mfa.backup_codes.viewed"
REGENERATED = "mfa.backup_codes.regenerated"
USED = "mfa.backup_codes.used"
FAILED = "mfa.backup_codes.failed"

EMAIL = "mfa/backup_codes/email/"
FRESH_SET_SESSION_KEY = "backup_codes_fresh_set"


class BackupCodesError(Exception):
    """A refused action. ``error`` is a stable code, ``message`` the wording."""

    def __init__(self, error: str, message: str):
        super().__init__(error)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class CodeSetView:
    """A set of codes as shown to a person (the user, or an agency administrator)."""

    generated_at: datetime
    rows: list[selectors.CodeRow]

    @property
    def remaining(self) -> int:
        return sum(1 for row in self.rows if not row.is_used)


@dataclass(frozen=True)
class Download:
    filename: str
    content: str


# --- set-up, regeneration ---------------------------------------------------

def generate_codes(request: HttpRequest, *, user: User) -> BackupCodeSet:
    """"Generate Backup Codes": create the user's first set (working once they tick "saved").

    Refused without a primary method (codes are a fallback) and when a set
    is already in use: replacing that goes through "Regenerate" and its
    confirm step.
    """
    with transaction.atomic():
        code_set = _locked_set(user)
        _require_primary(user)
        _require_allowed(user)
        if code_set is not None and code_set.confirmed:
            raise BackupCodesError("already_set_up", _(
                "You already have backup codes. Use Regenerate to replace them."))
        code_set = _issue(user, code_set, confirm=False)
        audit.record(request, GENERATED, target=user, method=METHOD_KEY, data={"count": app_settings.COUNT})
        notify.send(user, EMAIL + "generated", _email_context(request))
    remember_fresh_set(request, code_set)
    return code_set


def generate_after_first_primary(request: HttpRequest, *, user: User) -> BackupCodeSet | None:
    """Make the first set once the user's first primary method is on; None when none can be made.

    The primary method's set-up has already committed and must stay done,
    so a refusal (a set already in use, say) or a database error ends here:
    the user lands on the Profile, whose warning asks for codes.
    """
    try:
        return generate_codes(request, user=user)
    except BackupCodesError as refused:
        logger.info("backup codes: no first set for user %s (%s)", user.pk, refused.error)
    except DatabaseError:
        logger.exception("backup codes: could not make the first set for user %s", user.pk)
    return None


def regenerate_codes(request: HttpRequest, *, user: User) -> BackupCodeSet:
    """Replace every code of the user's set at once; the old codes stop working in the same commit."""
    with transaction.atomic():
        code_set = _locked_set(user)
        _require_primary(user)
        _require_allowed(user)
        if code_set is None or not code_set.confirmed:
            raise BackupCodesError("not_set_up", _("You have no backup codes yet. Generate them first."))
        code_set = _issue(user, code_set, confirm=True)
        audit.record(request, REGENERATED, target=user, method=METHOD_KEY, data={"count": app_settings.COUNT})
        notify.send(user, EMAIL + "regenerated", _email_context(request))
    remember_fresh_set(request, code_set)
    return code_set


def confirm_saved(request: HttpRequest, *, user: User) -> BackupCodeSet:
    """"I have saved these codes": finish set-up of the set just shown in this session."""
    code_set = fresh_set(request, user)
    # Conditional on the set shown: a regeneration in another tab since then
    # must not be marked as saved by a person who never saw it.
    saved = code_set is not None and BackupCodeSet.objects.filter(
        pk=code_set.pk, generated_at=code_set.generated_at, saved_at__isnull=True,
    ).update(confirmed=True, saved_at=clock.now())
    if not saved:
        raise BackupCodesError("nothing_pending", _(
            "These codes are no longer current. Generate a new set if you did not save them."))
    code_set.refresh_from_db()
    audit.record(request, SAVED, target=user, method=METHOD_KEY)
    forget_fresh_set(request)
    return code_set


def _locked_set(user: User) -> BackupCodeSet | None:
    """Lock the user's row, then their set's: writes and checks of one user's codes run one at a time.

    FOR NO KEY UPDATE (on PostgreSQL) still lets other transactions insert
    rows pointing at the user (an audit event, say), which take a KEY SHARE
    lock: a plain FOR UPDATE here deadlocks against a sign-in that holds the
    set's lock and writes its audit row.
    """
    no_key = connection.features.has_select_for_no_key_update
    User.objects.select_for_update(no_key=no_key).filter(pk=user.pk).first()
    return BackupCodeSet.objects.select_for_update().filter(user=user).first()


def _require_primary(user: User) -> None:
    if not has_primary_method(user):
        raise BackupCodesError("no_primary_method", _(
            "Backup codes back up another method. Set up Text Messages or Google Authenticator first."))


def _require_allowed(user: User) -> None:
    """Refuse new codes while the user's agency turned backup codes off (Parent Settings > Security)."""
    refusal = policy.set_up_refusal(user, METHOD_KEY)
    if refusal:
        raise BackupCodesError("not_allowed", refusal)


def _issue(user: User, code_set: BackupCodeSet | None, *, confirm: bool) -> BackupCodeSet:
    """Write a new set of codes for ``user``, retiring the current ones (call inside a transaction).

    Retired rows keep only their hash, so a code from the last set gets a
    clear "replaced" error; rows of older sets are deleted.
    """
    now = clock.now()
    if code_set is None:
        code_set = BackupCodeSet.objects.create(user=user, name="Backup codes", confirmed=confirm, generated_at=now)
    else:
        code_set.codes.exclude(replaced_at=None).delete()
        code_set.codes.current().update(replaced_at=now, code="")
        code_set.generated_at, code_set.saved_at = now, None
        code_set.confirmed = code_set.confirmed or confirm
        code_set.save(update_fields=["generated_at", "saved_at", "confirmed"])
    BackupCode.objects.bulk_create([
        BackupCode(code_set=code_set, position=position, code=code, lookup=codes.lookup_hash(user.pk, code))
        for position, code in enumerate(_new_codes(app_settings.COUNT), start=1)
    ])
    return code_set


def _new_codes(count: int) -> list[str]:
    fresh: list[str] = []
    while len(fresh) < count:
        code = codes.generate()
        if code not in fresh:  # a repeat is astronomically unlikely; never show one anyway
            fresh.append(code)
    return fresh


# --- the set shown right after generating -------------------------------------

def remember_fresh_set(request: HttpRequest, code_set: BackupCodeSet) -> None:
    """Remember (by id and time, never by value) which set this session may show as new."""
    request.session[FRESH_SET_SESSION_KEY] = {"id": code_set.pk, "generated_at": code_set.generated_at.isoformat()}


def forget_fresh_set(request: HttpRequest) -> None:
    request.session.pop(FRESH_SET_SESSION_KEY, None)


def fresh_set(request: HttpRequest, user: User) -> BackupCodeSet | None:
    """Return the set this session just generated, if it is still current and not yet saved."""
    marker = request.session.get(FRESH_SET_SESSION_KEY) or {}
    code_set = BackupCodeSet.objects.filter(pk=marker.get("id"), user=user, saved_at__isnull=True).first()
    if code_set is None or code_set.generated_at.isoformat() != marker.get("generated_at"):
        return None
    return code_set


def fresh_codes(request: HttpRequest, user: User) -> CodeSetView | None:
    """Return the new set for the set-up page (audited as "generated", not as a view)."""
    code_set = fresh_set(request, user)
    return _view_of(code_set) if code_set else None


# --- viewing and downloading ----------------------------------------------------

def view_codes(request: HttpRequest, *, user: User) -> CodeSetView:
    """"View Backup Codes": reveal the current set to its owner, audited and emailed."""
    code_set = _confirmed_set(user)
    audit.record(request, VIEWED, target=user, method=METHOD_KEY, data={"via": "page"})
    notify.send(user, EMAIL + "viewed", _email_context(request, via="page"))
    return _view_of(code_set)


def download_codes(request: HttpRequest, *, user: User) -> Download:
    """Return the .txt download of the user's codes.

    Right after generating, the download is part of set-up (already
    emailed as "generated"); any later download is a view like any other.
    """
    code_set = fresh_set(request, user)
    during_set_up = code_set is not None
    code_set = code_set or _confirmed_set(user)
    audit.record(request, VIEWED, target=user, method=METHOD_KEY,
                 data={"via": "download", "during_set_up": during_set_up})
    if not during_set_up:
        notify.send(user, EMAIL + "viewed", _email_context(request, via="download"))
    return Download(filename=download_filename(user, code_set), content=_download_text(user, _view_of(code_set)))


def download_filename(user: User, code_set: BackupCodeSet) -> str:
    """Name the file after the product, the user's email and the day the set was made."""
    email = re.sub(r"[^A-Za-z0-9@._+-]", "_", user.email)
    product = re.sub(r"[^A-Za-z0-9._-]", "", app_settings.ISSUER) or "backup"
    return f"{product}-backup-codes-{email}-{code_set.generated_at:%Y-%m-%d}.txt"


def _download_text(user: User, view: CodeSetView) -> str:
    return render_to_string("mfa/backup_codes/download.txt", {
        "user": user, "view": view, "product_name": app_settings.ISSUER,
    })


def _confirmed_set(user: User) -> BackupCodeSet:
    code_set = BackupCodeSet.objects.filter(user=user, confirmed=True).first()
    if code_set is None:
        raise BackupCodesError("not_set_up", _("You have no backup codes yet."))
    return code_set


def _view_of(code_set: BackupCodeSet) -> CodeSetView:
    return CodeSetView(generated_at=code_set.generated_at, rows=selectors.code_rows(code_set))


# --- sign-in and step-up ------------------------------------------------------

_OUTCOME_MESSAGES = {
    "used": lambda: _("That backup code has already been used. Each code works once; use another one."),
    "replaced": lambda: _("That backup code is from an old set that was replaced. Use a code from your newest set."),
    "incorrect": lambda: _("That backup code is not correct. Check it and try again."),
}


def verify_code(request: HttpRequest, *, user: User, code: str, purpose: str) -> VerifyResult:
    """Check a typed backup code and use it up; the method's verify() for sign-in and step-up.

    Malformed input (empty, too long, look-alike characters) cannot match any
    code, so it is refused without counting towards the throttle; a
    well-formed wrong, used or replaced code counts.
    """
    try:
        normal = codes.normalise(code)
    except codes.InvalidInput as invalid:
        return _failed(request, user, purpose, invalid.error, invalid.message)
    with transaction.atomic():
        # The row locks queue racing requests of one user, so the throttle
        # counts each of them; the conditional UPDATE in consume() is what
        # keeps a code single-use even without them. User row first, then the
        # set, as every writer of the set does (set-up here, an agency reset):
        # the other order deadlocks against an administrator's reset.
        code_set = _locked_set(user)
        if code_set is None or not code_set.confirmed:
            return _failed(request, user, purpose, "not_set_up", _("You have no backup codes. Use another method."))
        allowed, info = code_set.verify_is_allowed()
        if not allowed:
            wait = max(1, math.ceil((info["locked_until"] - clock.now()).total_seconds()))
            return _failed(request, user, purpose, "throttled", _throttled_message(wait), retry_after=wait)
        outcome = code_set.consume(normal)
        if outcome != "ok":
            code_set.throttle_increment()
            return _failed(request, user, purpose, outcome, _OUTCOME_MESSAGES[outcome]())
        code_set.throttle_reset()
        remaining = selectors.remaining_count(code_set)
        audit.record(request, USED, actor=user, target=user, method=METHOD_KEY,
                     data={"purpose": purpose, "remaining": remaining})
        notify.send(user, EMAIL + "used", _email_context(
            request, purpose=purpose, remaining=remaining,
            running_low=remaining <= app_settings.LOW_WARNING_THRESHOLD))
    _flash_remaining(request, remaining)
    return VerifyResult(ok=True, device=code_set, extra={"remaining": remaining})


def _failed(request, user: User, purpose: str, error: str, message: str, *, retry_after: int = 0) -> VerifyResult:
    audit.record(request, FAILED, actor=user if purpose == "reauth" else None, target=user, method=METHOD_KEY,
                 attempted_email=user.email, data={"purpose": purpose, "error": error})
    return VerifyResult(ok=False, error=error, message=message, retry_after=retry_after)


def _throttled_message(wait: int) -> str:
    if wait < 60:
        return ngettext(
            "Too many attempts. Try again in %(count)d second.",
            "Too many attempts. Try again in %(count)d seconds.", wait) % {"count": wait}
    minutes = math.ceil(wait / 60)
    return ngettext(
        "Too many attempts. Try again in %(count)d minute.",
        "Too many attempts. Try again in %(count)d minutes.", minutes) % {"count": minutes}


def _flash_remaining(request: HttpRequest, remaining: int) -> None:
    """Tell the user, on the next page, how many codes are left; warn when few are."""
    messages.success(request, ngettext(
        "Backup code accepted: %(count)d remaining.",
        "Backup code accepted: %(count)d remaining.", remaining) % {"count": remaining}, fail_silently=True)
    if remaining > app_settings.LOW_WARNING_THRESHOLD:
        return
    if remaining == 0:
        warning = _("You have used your last backup code.")
    else:
        warning = ngettext("Only %(count)d backup code is left.", "Only %(count)d backup codes are left.",
                           remaining) % {"count": remaining}
    messages.warning(request, format_html(
        '{} <a href="{}">{}</a>', warning, reverse("mfa:backup_codes:regenerate"), _("Generate new codes")),
        fail_silently=True)


# --- services for agency administrators (views come with the agency issue) ----

def codes_for_admin_view(request: HttpRequest | None, *, actor: User, target: User,
                         agency: Agency | None = None) -> CodeSetView | None:
    """Reveal ``target``'s codes to an agency administrator; None when they have none.

    Audited with the administrator as actor, and the target is emailed, so a
    retrieval is never silent.
    """
    agency = _managing_agency(actor, target, agency)
    code_set = BackupCodeSet.objects.filter(user=target, confirmed=True).first()
    if code_set is None:
        return None
    audit.record(request, VIEWED, actor=actor, target=target, agency=agency, method=METHOD_KEY,
                 data={"via": "admin"})
    notify.send(target, EMAIL + "viewed_by_admin", _email_context(request, actor=actor, agency=agency))
    return _view_of(code_set)


def set_version(code_set: BackupCodeSet | None) -> str:
    """Return what names the set in use now ("" for none), for "replace this set" confirmations."""
    if code_set is None or not code_set.confirmed:
        return ""
    return f"{code_set.pk}:{code_set.generated_at.isoformat()}"


def generate_for_user(request: HttpRequest | None, *, actor: User, target: User,
                      agency: Agency | None = None, replacing: str | None = None) -> CodeSetView:
    """Give ``target`` a new, ready-to-use set on an administrator's behalf, replacing any old one.

    ``replacing`` is the set_version() the administrator confirmed to
    replace ("" when they saw none); a set generated or regenerated since
    then is refused ("confirm_replace"), checked under the row lock, so a
    page's confirmation never replaces codes nobody showed them. None skips
    the check (callers that confirmed otherwise). The member's trusted
    browsers are revoked: their trust is bound to the codes, and the new
    set ends it anyway, so the revocation is recorded with who caused it.
    """
    agency = _managing_agency(actor, target, agency)
    with transaction.atomic():
        code_set = _locked_set(target)
        _require_primary(target)
        _require_allowed(target)  # an administrator is bound by the member's agencies too
        if replacing is not None and not constant_time_compare(replacing, set_version(code_set)):
            raise BackupCodesError("confirm_replace", _(
                "Their backup codes changed since this page was opened. Check the numbers and confirm again."))
        replacing_set = code_set is not None and code_set.confirmed
        code_set = _issue(target, code_set, confirm=True)
        audit.record(request, REGENERATED if replacing_set else GENERATED, actor=actor, target=target,
                     agency=agency, method=METHOD_KEY, data={"count": app_settings.COUNT, "by_admin": True})
        trusted_browsers.revoke_all_for(request, user=target, actor=actor, agency=agency,
                                        reason="admin_backup_codes")
        notify.send(target, EMAIL + "generated_by_admin", _email_context(request, actor=actor, agency=agency))
    return _view_of(code_set)


def member_download_filename(target: User, view: CodeSetView) -> str:
    """Name an administrator's download after the member (never the administrator) and the set's day."""
    email = re.sub(r"[^A-Za-z0-9@._+-]", "_", target.email)
    product = re.sub(r"[^A-Za-z0-9._-]", "", app_settings.ISSUER) or "backup"
    return f"{product}-backup-codes-{email}-{view.generated_at:%Y-%m-%d}.txt"


def _managing_agency(actor: User, target: User, agency: Agency | None) -> Agency:
    """Return the agency in which ``actor`` may manage ``target``; refuse otherwise."""
    candidates = [agency] if agency is not None else (
        Agency.objects.filter(memberships__user=target).filter(memberships__user=actor).distinct()
    )
    for candidate in candidates:
        if can_manage_user(actor, target, candidate):
            return candidate
    raise PermissionDenied("actor may not manage this user's backup codes")


def _email_context(request: HttpRequest | None, **extra) -> dict:
    return {"when": clock.now(), "ip_address": (client_ip(request) if request is not None else None) or "",
            "method_label": _("Backup Codes"), **extra}
