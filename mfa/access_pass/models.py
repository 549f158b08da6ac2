"""A temporary access pass: one django-otp device per pass an administrator issues.

The device is what sign-in hands to ``django_otp.login`` and what carries the
failure throttle. The pass itself is never stored, only its keyed hash
(passes.lookup_hash). A pass is live while ``status`` is active and
``expires_at`` is ahead; the rows stay afterwards, so the Edit page can say
"used" or "expired" and the set-up requirement has something to hang on.
"""
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, DeviceManager, ThrottlingMixin, VerifyNotAllowed

from ctm_auth import clock
from mfa.access_pass.app_settings import app_settings

MIN_LIFETIME_HOURS = 1
MAX_LIFETIME_HOURS = 72
DEFAULT_LIFETIME_HOURS = 24
# django-otp's own ceiling on the exponential back-off.
MAX_THROTTLE_DELAY_SECONDS = 60 * 60 * 24


class Status(models.TextChoices):
    ACTIVE = "active", _("active")
    USED = "used", _("used")
    REVOKED = "revoked", _("revoked")
    EXPIRED = "expired", _("expired")


class AccessPassQuerySet(models.QuerySet):
    def live(self, *, now=None) -> "AccessPassQuerySet":
        """Passes that still work at ``now`` (default: now): active and not past their expiry (the sweep may lag)."""
        return self.filter(status=Status.ACTIVE, expires_at__gt=clock.now() if now is None else now)


class AccessPass(ThrottlingMixin, Device):
    """One pass for one user. At most one is active per user (a partial unique constraint)."""

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    # HMAC-SHA256 of the pass, hex (passes.lookup_hash). Never the pass.
    lookup = models.CharField(max_length=64)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    agency = models.ForeignKey("agencies.Agency", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    lifetime_hours = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_LIFETIME_HOURS), MaxValueValidator(MAX_LIFETIME_HOURS)])
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Keyed hashes of the primary devices the user had when the pass was used:
    # a device not among them is the new method the pass was for.
    devices_at_use = models.JSONField(default=list, blank=True)
    # When the user set up that new method; until then every sign-in of theirs
    # lands on the set-up page first.
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = DeviceManager.from_queryset(AccessPassQuerySet)()

    class Meta:
        verbose_name = _("temporary access pass")
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(status="active"),
                                    name="access_pass_one_active_per_user"),
            models.CheckConstraint(condition=Q(lifetime_hours__gte=MIN_LIFETIME_HOURS,
                                               lifetime_hours__lte=MAX_LIFETIME_HOURS),
                                   name="access_pass_lifetime_range"),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="access_pass_expiry")]

    def __str__(self) -> str:  # never the pass itself
        return f"temporary access pass #{self.pk} of user {self.user_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status == Status.ACTIVE and self.expires_at > clock.now()

    def get_throttle_factor(self) -> int:
        return app_settings.THROTTLE_FACTOR

    # django-otp's throttle reads django.utils.timezone.now; ours reads the
    # project clock, so throttling follows the one clock tests can move.
    def verify_is_allowed(self):
        if self.throttling_enabled and self.throttling_failure_count > 0 and self.throttling_failure_timestamp:
            delay = min(self.get_throttle_factor() * (2 ** (self.throttling_failure_count - 1)),
                        MAX_THROTTLE_DELAY_SECONDS)
            locked_until = self.throttling_failure_timestamp + timedelta(seconds=delay)
            if clock.now() < locked_until:
                return False, {"reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                               "failure_count": self.throttling_failure_count, "locked_until": locked_until}
        return True, None

    def throttle_increment(self, commit: bool = True) -> None:
        """Count a failure with F(), so failures racing each other all count."""
        now = clock.now()
        AccessPass.objects.filter(pk=self.pk).update(
            throttling_failure_count=F("throttling_failure_count") + 1, throttling_failure_timestamp=now)
        self.throttling_failure_count += 1
        self.throttling_failure_timestamp = now

    def throttle_reset(self, commit: bool = True) -> None:
        AccessPass.objects.filter(pk=self.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
        self.throttling_failure_count, self.throttling_failure_timestamp = 0, None

    def verify_token(self, token) -> bool:
        """django-otp's hook (``match_token``): passes are checked by flows.verify_pass only."""
        return False
