"""A test-only device: its code is whatever the test stored, throttled like a real one."""
from django.db import models
from django_otp.models import Device, ThrottlingMixin


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
