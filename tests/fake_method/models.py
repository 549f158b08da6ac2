"""Test-only models: a device whose code is whatever the test stored, and an encrypted note."""
from django.db import models
from django_otp.models import Device, ThrottlingMixin

from accounts.encryption import EncryptedTextField


class FakeDevice(ThrottlingMixin, Device):
    code = models.CharField(max_length=16)

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        if token == self.code:
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False


class EncryptedNote(models.Model):
    """A test-only row with an encrypted column, for the field-encryption tests."""

    text = EncryptedTextField(blank=True, null=True)
