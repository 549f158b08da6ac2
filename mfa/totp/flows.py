"""Google Authenticator business logic: enrol, confirm, replace, disable, verify.

Views call one of these and render; each change is audited through
accounts.audit and mailed through accounts.notify (after commit).
"""
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import django_otp
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest

from accounts import audit, notify, reauth
from accounts.client import client_ip
from ctm_auth import clock
from mfa import policy
from mfa.base.method import VerifyResult
from mfa.flows import destroy_fallbacks_if_no_primary
from mfa.totp import errors, otp
from mfa.totp.app_settings import app_settings
from mfa.totp.models import CodeCheck, TOTPDevice

METHOD_KEY = "totp"

# Audit event types (stable codes; the Security Log filters on them).
TOTP_ENABLED = "mfa.totp.enabled"
TOTP_REPLACED = "mfa.totp.replaced"
TOTP_DISABLED = "mfa.totp.disabled"
TOTP_VERIFICATION_FAILED = "mfa.totp.verification_failed"

EMAIL_PREFIX = "mfa/totp/email/"


@dataclass(frozen=True)
class SetupDetails:
    """What the set-up page shows for a pending device."""

    setup_id: str
    key: str  # grouped in fours for typing
    plain_key: str  # the same key without spaces, for "Copy": some apps refuse the spaces
    uri: str  # otpauth://, what the QR code encodes and "Open in authenticator app" opens
    qr_svg: str
    expires_at: object
    replacing: bool


@dataclass(frozen=True)
class ConfirmOutcome:
    device: TOTPDevice | None = None
    error: str = ""
    message: str = ""
    retry_after: int = 0
    replaced: bool = False

    @property
    def ok(self) -> bool:
        return self.device is not None


# -- reading -------------------------------------------------------------------

def active_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-confirmed_at", "-pk").first()


def pending_device(user) -> TOTPDevice | None:
    """Return the user's unexpired, unconfirmed set-up, if any."""
    return (TOTPDevice.objects.filter(user=user, confirmed=False, expires_at__gt=clock.now())
            .order_by("-created_at", "-pk").first())


def setup_details(device: TOTPDevice, *, user) -> SetupDetails:
    uri = otp.provisioning_uri(device.secret, account=user.email, issuer=app_settings.ISSUER,
                               digits=device.digits, step=device.step)
    return SetupDetails(
        setup_id=device.setup_id, key=otp.grouped(device.secret), plain_key=device.secret, uri=uri,
        qr_svg=otp.qr_svg(uri),
        expires_at=device.expires_at,
        replacing=TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
    )


# -- enrolment -----------------------------------------------------------------

@transaction.atomic
def start_enrolment(request: HttpRequest, *, user) -> TOTPDevice:
    """Create a pending device with a fresh secret; any earlier pending set-up is dropped.

    An active device stays untouched (and keeps working) until the new one
    is confirmed, which is how "Replace" works.
    """
    TOTPDevice.objects.filter(confirmed=False, expires_at__lte=clock.now()).delete()  # lapsed, anyone's
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(
        user=user, name="Google Authenticator", confirmed=False, secret=otp.new_secret(),
        setup_id=secrets.token_urlsafe(24),
        expires_at=clock.now() + timedelta(seconds=app_settings.SETUP_TIMEOUT),
    )


def cancel_enrolment(request: HttpRequest, *, user) -> int:
    """Drop the user's pending set-up; the active device, if any, is untouched."""
    deleted, _ = TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return deleted


def confirm_enrolment(request: HttpRequest, *, user, setup_id: str, code: str) -> ConfirmOutcome:
    """Activate the pending device once ``code`` (normalised) is a current code from it.

    Every row of the user's devices is locked first, so two confirmations
    racing (two tabs, a double click) serialise: one wins, the other finds
    its set-up gone. On success the old device is deleted in the same
    transaction, so there is never a moment with both or neither active.
    """
    with transaction.atomic():
        rows = list(TOTPDevice.objects.select_for_update().filter(user=user).order_by("pk"))
        pending = next((d for d in rows if not d.confirmed and d.setup_id
                        and hmac.compare_digest(d.setup_id.encode(), setup_id.encode())), None)
        if pending is None:
            return _confirm_failed("setup_invalid")
        if pending.is_expired():
            pending.delete()
            return _confirm_failed("setup_expired")
        check = pending.check_code(code)
        if not check.ok:
            _record_failure(request, user=user, purpose="setup", check=check)
            return _confirm_failed(check.error, retry_after=check.retry_after, digits=pending.digits)
        replaced = any(d.confirmed for d in rows)
        TOTPDevice.objects.filter(user=user).exclude(pk=pending.pk).delete()
        now = clock.now()
        pending.confirmed, pending.setup_id, pending.expires_at, pending.confirmed_at = True, None, None, now
        pending.save(update_fields=["confirmed", "setup_id", "expires_at", "confirmed_at"])
        event, template = (TOTP_REPLACED, "replaced") if replaced else (TOTP_ENABLED, "enabled")
        audit.record(request, event, target=user, method=METHOD_KEY)
        notify.send(user, EMAIL_PREFIX + template, {"request_ip": client_ip(request)})
    if getattr(request, "user", None) == user:
        # This session just proved it holds the new device; keep it verified
        # (the device it verified with may have been the one replaced).
        django_otp.login(request, pending)
        reauth.mark_second_factor_proven(request, user)
    return ConfirmOutcome(device=pending, replaced=replaced)


def _confirm_failed(error: str, *, retry_after: int = 0, digits: int | None = None) -> ConfirmOutcome:
    return ConfirmOutcome(error=error, retry_after=retry_after,
                          message=errors.message_for(error, retry_after=retry_after, digits=digits))


# -- disabling -----------------------------------------------------------------

def disable_totp(request: HttpRequest, *, user, actor=None) -> str | None:
    """Remove the user's Google Authenticator; return why not, or None once done.

    The agency policy decides first (mfa.policy.disable_refusal), then the
    device and any pending set-up go, then backup codes if no primary method
    is left; all in one transaction, so a refusal or an error changes nothing.
    """
    with transaction.atomic():
        # Lock the user row so two "Disable" requests for different methods
        # cannot both pass the policy check and leave no method at all.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        refusal = policy.disable_refusal(user, METHOD_KEY)
        if refusal:
            return refusal
        had_active = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).exists()
        TOTPDevice.objects.filter(user=user).delete()
        if not had_active:
            return errors.message_for("not_enabled")
        audit.record(request, TOTP_DISABLED, actor=actor, target=user, method=METHOD_KEY)
        notify.send(user, EMAIL_PREFIX + "disabled", {"request_ip": client_ip(request)})
        destroy_fallbacks_if_no_primary(request, user=user, actor=actor)
    return None


# -- verification (sign-in step 2 and re-authentication) ---------------------

def verify_code(request: HttpRequest | None, *, user, code: str, purpose: str) -> VerifyResult:
    """Check a code typed at sign-in or re-authentication; audit every failure.

    The device row is locked while the code is checked, so parallel guesses
    queue up behind each other and each one sees the wait the previous one
    earned (the conditional UPDATE alone would stop replays, not a burst of
    simultaneous guesses).
    """
    with transaction.atomic():
        device = (TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
                  .order_by("-confirmed_at", "-pk").first())
        if device is None:
            return VerifyResult(ok=False, error="not_enabled", message=errors.message_for("not_enabled"))
        try:
            normalised = otp.normalize_code(code, digits=device.digits)
        except otp.InvalidCode as invalid:
            # Malformed input cannot be a guess at the secret, so it is audited
            # but does not grow the wait: a typo should not lock anyone out.
            check = CodeCheck(ok=False, error=invalid.code, retry_after=device.throttle_wait(),
                              failure_count=device.throttling_failure_count)
        else:
            check = device.check_code(normalised)
    if check.ok:
        return VerifyResult(ok=True, device=device)
    _record_failure(request, user=user, purpose=purpose, check=check)
    return VerifyResult(
        ok=False, error=check.error, retry_after=check.retry_after,
        message=errors.message_for(check.error, retry_after=check.retry_after, digits=device.digits),
        extra={"failure_count": check.failure_count},
    )


def _record_failure(request: HttpRequest | None, *, user, purpose: str, check: CodeCheck) -> None:
    """Audit one failed verification with the throttle state (never the code)."""
    audit.record(request, TOTP_VERIFICATION_FAILED, target=user, method=METHOD_KEY, data={
        "purpose": purpose, "error": check.error,
        "failure_count": check.failure_count, "retry_after": check.retry_after,
    })
