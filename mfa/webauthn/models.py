"""A registered passkey or security key: a public key the user's authenticator holds the private half of.

Built on django-otp's Device, so ``django_otp.login`` marks a session
verified with it and ``user.is_verified()`` holds, as with the other methods.
Nothing here is secret: the private key never leaves the authenticator, so
the public key and credential id are stored in clear.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from ctm_auth import clock


class WebAuthnCredential(Device):
    """One passkey or security key of one user (``name`` is the user's label, "YubiKey 5")."""

    credential_id = models.CharField(
        max_length=1400, unique=True,
        help_text="The credential id, base64url (at most 1023 bytes by the specification).",
    )
    public_key = models.BinaryField(help_text="The COSE-encoded public key.")
    sign_count = models.PositiveBigIntegerField(
        default=0, help_text="The authenticator's signature counter; 0 when it keeps none (synced passkeys).",
    )
    transports = models.JSONField(default=list, blank=True, help_text='How the browser reaches it: "usb", "internal"...')
    backup_eligible = models.BooleanField(default=False, help_text="BE flag: a passkey that can be synced.")
    backed_up = models.BooleanField(default=False, help_text="BS flag: synced to the user's other devices now.")
    aaguid = models.CharField(max_length=36, blank=True, help_text="The authenticator model, when it says.")
    user_handle = models.CharField(
        max_length=96,
        help_text="The id the key stores for this account (base64url), the same for all its keys; never the email or pk.",
    )
    discoverable = models.BooleanField(
        default=False, help_text="Resident on the key, so it can sign in without an email being typed.",
    )
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("passkey or security key")
        verbose_name_plural = _("passkeys and security keys")
        indexes = [models.Index(fields=["user", "confirmed"], name="mfa_webauthn_user_confirmed")]

    def verify_token(self, token) -> bool:
        """django-otp's typed-token entry point: a key answers no typed token."""
        return False

    @property
    def is_synced(self) -> bool:
        """A passkey copied to the user's other devices ("synced"), not bound to this one."""
        return self.backed_up


class SpentChallenge(models.Model):
    """A challenge that was answered once: kept until it would have expired, so no answer to it passes twice."""

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the challenge.")
    expires_at = models.DateTimeField(db_index=True)
