"""The Google Authenticator device: an encrypted RFC 6238 secret plus its state.

Built on django-otp's Device and ThrottlingMixin, so ``django_otp.match_token``,
``user.is_verified()`` and ``otp_required`` work with it. Two rules are kept
in SQL, not in Python, so they hold across workers and app servers:

* a time-step is accepted at most once: the success path is a conditional
  UPDATE (``last_t < t``) whose row count says who won a race;
* failures grow an exponential wait stored on the row (ThrottlingMixin's
  fields), incremented with F() so concurrent failures all count.

Throttle times come from the project clock (ctm_auth.clock) rather than
django.utils.timezone, so tests can move time instead of sleeping.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_otp.models import MAX_THROTTLE_DELAY_SECONDS, Device, ThrottlingMixin, VerifyNotAllowed

from accounts.encryption import EncryptedTextField
from ctm_auth import clock
from mfa.totp import otp
from mfa.totp.app_settings import app_settings


def _default_digits() -> int:
    return app_settings.DIGITS


def _default_step() -> int:
    return app_settings.STEP


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of checking one code against one device.

    ``error`` is a stable code: "throttled", "incorrect_code" or "code_reused".
    ``retry_after`` is how many seconds the user must wait before the next try.
    """

    ok: bool
    error: str = ""
    retry_after: int = 0
    failure_count: int = 0
    time_step: int | None = None


class TOTPDevice(ThrottlingMixin, Device):
    """One authenticator app for one user.

    A row with ``confirmed=False`` is a pending set-up: it holds the new
    secret server-side until the user types a current code, expires after
    MFA_TOTP_SETUP_TIMEOUT, and is never offered at sign-in.
    """

    secret = EncryptedTextField(help_text="Base32 RFC 6238 key, encrypted at rest.")
    digits = models.PositiveSmallIntegerField(default=_default_digits)
    step = models.PositiveSmallIntegerField(default=_default_step, help_text="Seconds per time-step.")
    drift = models.SmallIntegerField(default=0, help_text="Measured clock drift of the app, in time-steps.")
    last_t = models.BigIntegerField(default=-1, help_text="Last time-step accepted; never accepted again.")
    setup_id = models.CharField(max_length=64, null=True, blank=True, default=None,
                                help_text="Identifies a pending set-up in the confirmation form.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When a pending set-up lapses.")
    created_at = models.DateTimeField(default=clock.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Google Authenticator device")
        indexes = [models.Index(fields=["user", "confirmed"], name="mfa_totp_user_confirmed")]

    # -- django-otp interface -------------------------------------------------

    def verify_token(self, token) -> bool:
        """django-otp entry point (match_token, forms): True when ``token`` is a fresh, current code."""
        try:
            code = otp.normalize_code(str(token), digits=self.digits)
        except otp.InvalidCode:
            return False
        return self.check_code(code).ok

    def get_throttle_factor(self) -> int:
        return app_settings.THROTTLE_FACTOR

    def verify_is_allowed(self):
        """ThrottlingMixin's rule, read on the project clock."""
        wait = self.throttle_wait()
        if wait:
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": self.throttling_failure_count,
                "locked_until": self._locked_until(),
            }
        return True, None

    def throttle_increment(self, commit: bool = True, *, now: datetime | None = None) -> None:
        """Count a failure; with ``commit``, atomically in SQL so racing failures all count."""
        now = now or clock.now()
        if not commit:
            self.throttling_failure_timestamp = now
            self.throttling_failure_count += 1
            return
        type(self).objects.filter(pk=self.pk).update(
            throttling_failure_count=F("throttling_failure_count") + 1, throttling_failure_timestamp=now
        )
        self.refresh_from_db(fields=["throttling_failure_count", "throttling_failure_timestamp"])

    # -- our verification -----------------------------------------------------

    def throttle_wait(self, now: datetime | None = None) -> int:
        """Return the whole seconds left before another try is allowed (0 = now)."""
        locked_until = self._locked_until()
        if locked_until is None:
            return 0
        remaining = (locked_until - (now or clock.now())).total_seconds()
        return max(0, math.ceil(remaining))

    def _locked_until(self) -> datetime | None:
        if not (self.throttling_enabled and self.throttling_failure_count and self.throttling_failure_timestamp):
            return None
        return self.throttling_failure_timestamp + _delay(self.get_throttle_factor(), self.throttling_failure_count)

    def check_code(self, code: str, *, at: float | None = None) -> CodeCheck:
        """Check a normalised code: throttle first, then match, then consume the time-step.

        Success resets the throttle and remembers the measured drift, in the
        same conditional UPDATE that consumes the time-step.
        """
        at = clock.timestamp() if at is None else at
        now = datetime.fromtimestamp(at, tz=timezone.utc)
        wait = self.throttle_wait(now)
        if wait:
            return CodeCheck(ok=False, error="throttled", retry_after=wait,
                             failure_count=self.throttling_failure_count)
        matches = otp.matching_time_steps(
            self.secret, code, at=at, digits=self.digits, step=self.step,
            drift=self.drift, tolerance=app_settings.TOLERANCE,
        )
        fresh = [t for t in matches if t > self.last_t]
        if fresh and self._consume(max(fresh), at=at, now=now):
            return CodeCheck(ok=True, time_step=self.last_t)
        self.throttle_increment(now=now)
        return CodeCheck(
            ok=False, error="code_reused" if matches else "incorrect_code",
            retry_after=self.throttle_wait(now), failure_count=self.throttling_failure_count,
        )

    def _consume(self, t: int, *, at: float, now: datetime) -> bool:
        """Accept time-step ``t`` unless another request already accepted it (or a later one)."""
        # Capped at the tolerance, so the window (drift ± tolerance) always
        # still holds the server's own step: a phone whose clock gets fixed
        # later is never locked out by the drift it once had.
        limit = app_settings.TOLERANCE
        drift = max(-limit, min(limit, t - otp.time_step(at, step=self.step)))
        won = type(self).objects.filter(pk=self.pk, last_t__lt=t).update(
            last_t=t, drift=drift, last_used_at=now,
            throttling_failure_count=0, throttling_failure_timestamp=None,
        )
        if won:
            self.last_t, self.drift, self.last_used_at = t, drift, now
            self.throttling_failure_count, self.throttling_failure_timestamp = 0, None
        return bool(won)

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= clock.now()


def _delay(factor: int, failures: int) -> timedelta:
    """Return ThrottlingMixin's wait after ``failures`` failures: factor × 2^(n-1), capped."""
    exponent = min(failures - 1, 64)  # 2**64 s is far past the cap; avoids huge ints
    return timedelta(seconds=min(factor * (2 ** exponent), MAX_THROTTLE_DELAY_SECONDS))
