"""The test-only MFA method that proves the interface before real methods exist."""
from django.db import transaction

from mfa.base import ChallengeContext, Method, VerifyResult
from tests.fake_method.models import FakeDevice


class FakeCodeMethod(Method):
    key = "fake"
    label = "Fake code"
    is_primary = True

    def all_active_devices(self, *, now=None):
        return FakeDevice.objects.filter(confirmed=True)

    def status_detail(self, user) -> str:
        return "test device"

    def begin_challenge(self, request, user, *, purpose, resend=False):
        return ChallengeContext("mfa/challenge_code.html", notice=f"Enter your fake code ({purpose}).")

    def verify(self, request, user, code, *, purpose):
        with transaction.atomic():
            device = self.active_devices(user).select_for_update().first()
            allowed, info = device.verify_is_allowed()
            if not allowed:
                return VerifyResult(ok=False, error="throttled", message="Too many attempts. Wait and retry.")
            if device.verify_token(code.strip()):
                return VerifyResult(ok=True, device=device)
        return VerifyResult(ok=False, error="incorrect_code", message="Incorrect code.")
