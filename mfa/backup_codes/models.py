"""A user's set of backup codes: one django-otp device holding the codes.

The device is what sign-in hands to ``django_otp.login`` and what carries
the failure throttle; each code is a row, stored twice: encrypted (so the
user and, later, an agency administrator can view it again) and as a keyed
hash (so a typed code is found without decrypting anything).
"""
from datetime import timedelta

from django.db import models
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, DeviceManager, ThrottlingMixin, VerifyNotAllowed

from accounts.encryption import EncryptedTextField
from ctm_auth import clock
from mfa.backup_codes import codes
from mfa.backup_codes.app_settings import app_settings

# django-otp's own ceiling on the exponential back-off.
MAX_THROTTLE_DELAY_SECONDS = 60 * 60 * 24


class BackupCodeSetQuerySet(models.QuerySet):
    def usable(self) -> "BackupCodeSetQuerySet":
        """Sets whose set-up finished and that still hold an unused code."""
        return self.filter(confirmed=True).filter(
            Exists(BackupCode.objects.current().filter(code_set=OuterRef("pk"), used_at__isnull=True))
        )


class BackupCodeSet(ThrottlingMixin, Device):
    """The user's one set of backup codes.

    ``confirmed`` turns true when the user ticks "I have saved these codes"
    the first time; until then the codes do not work. Regenerating keeps
    the same device (and its throttle) and replaces the code rows.
    """

    generated_at = models.DateTimeField(_("generated at"))
    # When the user ticked "I have saved these codes" for the current set.
    saved_at = models.DateTimeField(_("saved at"), null=True, blank=True)

    objects = DeviceManager.from_queryset(BackupCodeSetQuerySet)()

    class Meta:
        verbose_name = _("backup code set")
        constraints = [models.UniqueConstraint(fields=["user"], name="backup_code_set_one_per_user")]

    def get_throttle_factor(self) -> int:
        return app_settings.THROTTLE_FACTOR

    # django-otp's throttle reads django.utils.timezone.now; ours reads the
    # project clock, so throttling follows the one clock tests can move.
    def verify_is_allowed(self):
        if self.throttling_enabled and self.throttling_failure_count > 0 and self.throttling_failure_timestamp:
            delay_required = min(
                self.get_throttle_factor() * (2 ** (self.throttling_failure_count - 1)),
                MAX_THROTTLE_DELAY_SECONDS,
            )
            locked_until = self.throttling_failure_timestamp + timedelta(seconds=delay_required)
            if clock.now() < locked_until:
                return False, {
                    "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                    "failure_count": self.throttling_failure_count,
                    "locked_until": locked_until,
                }
        return True, None

    def throttle_increment(self, commit: bool = True) -> None:
        self.throttling_failure_timestamp = clock.now()
        self.throttling_failure_count += 1
        if commit:
            self.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])

    def throttle_reset(self, commit: bool = True) -> None:
        self.throttling_failure_timestamp = None
        self.throttling_failure_count = 0
        if commit:
            self.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])

    def consume(self, code: str) -> str:
        """Mark the normal-form ``code`` used; return "ok", "used", "replaced" or "incorrect".

        The conditional UPDATE (``WHERE used_at IS NULL``) is the single-use
        guarantee: of two requests racing with one code, the database lets
        exactly one of them change the row.
        """
        hashes = codes.candidate_hashes(self.user_id, code)
        rows = self.codes.filter(lookup__in=hashes)
        if rows.current().filter(used_at__isnull=True).update(used_at=clock.now()) == 1:
            return "ok"
        if rows.current().exists():
            return "used"
        if rows.exists():
            return "replaced"
        return "incorrect"

    def verify_token(self, token) -> bool:
        """django-otp's hook (``match_token``): consume ``token`` if allowed."""
        allowed, _info = self.verify_is_allowed()
        if not allowed or not self.confirmed:
            return False
        try:
            outcome = self.consume(codes.normalise(str(token)))
        except codes.InvalidInput:
            return False
        if outcome == "ok":
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False


class BackupCodeQuerySet(models.QuerySet):
    def current(self) -> "BackupCodeQuerySet":
        """Codes of the set in force (not replaced by a regeneration)."""
        return self.filter(replaced_at__isnull=True)


class BackupCode(models.Model):
    """One code. Rows of a replaced set keep only their hash, to say "this code is from an old set"."""

    code_set = models.ForeignKey(BackupCodeSet, on_delete=models.CASCADE, related_name="codes")
    position = models.PositiveSmallIntegerField()
    # Fernet token of the normal-form code; emptied once the set is replaced.
    code = EncryptedTextField(blank=True)
    # HMAC-SHA256 of the code (see codes.lookup_hash), hex.
    lookup = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    objects = BackupCodeQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["code_set", "lookup"], name="backup_code_lookup")]

    def __str__(self) -> str:  # never the code itself
        return f"backup code #{self.position} of set {self.code_set_id}"

    @property
    def display(self) -> str:
        return codes.display(self.code)
