"""Text Messages: the verified phone number, the codes in flight, the dev outbox."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from mfa.sms.phone import format_number, mask_number


class SMSDevice(Device):
    """A user's verified mobile number. Only numbers proven by a code are stored.

    A number being set up or changed lives in the session and in its
    SMSChallenge until its code is typed, so no half-enrolled row exists.
    """

    number = models.CharField(_("mobile number"), max_length=16, help_text=_("E.164, e.g. +14155552671"))
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("text message device")
        constraints = [models.UniqueConstraint(fields=["user"], name="mfa_sms_one_device_per_user")]

    @property
    def formatted_number(self) -> str:
        return format_number(self.number)

    @property
    def masked_number(self) -> str:
        return mask_number(self.number)

    def verify_token(self, token) -> bool:
        """Refuse: a texted code is valid only for the sign-in it was sent for.

        django_otp.match_token has no request, so it cannot tell which sign-in
        attempt is answering; the SMS method's verify() checks that binding.
        """
        return False


class Purpose(models.TextChoices):
    SIGN_IN = "sign_in", _("Sign-in")
    REAUTH = "reauth", _("Re-authentication")
    ENROL = "enrol", _("Set-up")
    CHANGE_CURRENT = "change_current", _("Number change (current number)")
    CHANGE_NEW = "change_new", _("Number change (new number)")


class SMSChallenge(models.Model):
    """The code texted for one sign-in, re-authentication or set-up step.

    ``binding`` is a keyed hash of what the code was issued for (the sign-in
    attempt id, the session's re-authentication or set-up nonce), so a code
    only completes the step it was sent for. The code itself is stored only
    as a keyed hash. A new code for the same step replaces this row.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sms_challenges")
    device = models.ForeignKey(SMSDevice, null=True, blank=True, on_delete=models.CASCADE, related_name="challenges")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    binding = models.CharField(max_length=64)
    number = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)
    sends = models.PositiveSmallIntegerField(default=1)
    used_at = models.DateTimeField(null=True, blank=True)
    # The outbox row of the text that carries this code: the page reads
    # "Sending…", "Sent" or the failure from it.
    delivery = models.ForeignKey("accounts.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "purpose", "binding"], name="mfa_sms_one_code_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} code for {self.user_id} to {mask_number(self.number)}"


class OutboxMessage(models.Model):
    """A text the "outbox" gateway kept instead of sending (development only)."""

    to = models.CharField(max_length=16)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbox text message")

    def __str__(self) -> str:
        return f"to {mask_number(self.to)} at {self.created_at:%Y-%m-%d %H:%M:%S}"
