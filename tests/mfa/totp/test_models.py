"""The device: drift, replay, throttling, and django-otp's API."""
import base64

import django_otp
import pytest
from django_otp.models import VerifyNotAllowed

from mfa.totp import otp
from mfa.totp.models import TOTPDevice
from tests.mfa.totp.conftest import code_for

pytestmark = pytest.mark.django_db

# RFC 6238 Appendix B (SHA-1): the ASCII seed "12345678901234567890", 8 digits.
RFC_SEED = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
               (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_check_code_accepts_rfc6238_vector_through_the_device(user, unix_time, expected):
    device = TOTPDevice.objects.create(user=user, name="RFC 6238", secret=RFC_SEED, digits=8, step=30)
    check = device.check_code(expected, at=unix_time)
    assert check.ok and check.time_step == unix_time // 30
    replay = TOTPDevice.objects.get(pk=device.pk).check_code(expected, at=unix_time)
    assert (replay.ok, replay.error) == (False, "code_reused")


def fresh(device: TOTPDevice) -> TOTPDevice:
    return TOTPDevice.objects.get(pk=device.pk)


def wrong_code(device: TOTPDevice, at: float) -> str:
    """A well-formed code valid at no step of the window around ``at``."""
    window = {otp.generate(device.secret, at=at + s * device.step) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_check_code_within_one_step_of_drift_is_accepted(totp_device, steps, clock):
    clock.advance(totp_device.step)  # the step before is the one enrolment used
    assert totp_device.check_code(code_for(totp_device, steps=steps)).ok
    assert fresh(totp_device).drift == steps


@pytest.mark.parametrize("steps", [-2, 2, 3])
def test_check_code_two_steps_off_is_refused(totp_device, steps):
    check = totp_device.check_code(code_for(totp_device, steps=steps))
    assert (check.ok, check.error) == (False, "incorrect_code")
    assert fresh(totp_device).drift == 0


def test_check_code_remembers_drift_and_follows_it(totp_device, clock):
    # A phone running a step fast: accepted at +1, and the drift is kept...
    assert totp_device.check_code(code_for(totp_device, steps=1)).ok
    device = fresh(totp_device)
    assert device.drift == 1
    clock.advance(device.step)
    # ...so the window is now 0..+2 around the server's step: +2 works...
    assert device.check_code(code_for(device, steps=2)).ok
    device = fresh(device)
    assert device.drift == 1  # capped at the tolerance
    clock.advance(device.step * 3)
    # ...-1 no longer does, and the server's own step always does.
    minus_one = device.check_code(code_for(device, steps=-1))
    assert (minus_one.ok, minus_one.error) == (False, "incorrect_code")
    clock.advance(minus_one.retry_after)
    assert fresh(device).check_code(code_for(device, steps=0)).ok
    assert fresh(device).drift == 0


def test_check_code_replay_of_same_time_step_is_refused(totp_device):
    code = code_for(totp_device)
    assert totp_device.check_code(code).ok
    again = fresh(totp_device).check_code(code)
    assert (again.ok, again.error) == (False, "code_reused")


def test_check_code_older_time_step_after_newer_one_is_refused(totp_device):
    assert totp_device.check_code(code_for(totp_device, steps=1)).ok
    older = fresh(totp_device).check_code(code_for(totp_device, steps=0))
    assert (older.ok, older.error) == (False, "code_reused")


def test_check_code_next_time_step_is_accepted_after_use(totp_device, clock):
    assert totp_device.check_code(code_for(totp_device)).ok
    clock.advance(totp_device.step)
    assert fresh(totp_device).check_code(code_for(totp_device)).ok


def test_check_code_failures_grow_the_wait_exponentially(totp_device, clock, settings):
    settings.MFA_TOTP_THROTTLE_FACTOR = 2
    at, waits = clock.timestamp(), []
    for _ in range(4):
        check = fresh(totp_device).check_code(wrong_code(totp_device, at), at=at)
        assert check.error == "incorrect_code"
        waits.append(check.retry_after)
        at += check.retry_after
    assert waits == [2, 4, 8, 16]
    assert fresh(totp_device).throttling_failure_count == 4


def test_check_code_while_throttled_is_refused_even_if_correct(totp_device, clock):
    at = clock.timestamp()
    for _ in range(3):
        at += fresh(totp_device).check_code(wrong_code(totp_device, at), at=at).retry_after
    fourth = fresh(totp_device).check_code(wrong_code(totp_device, at), at=at)
    assert fourth.retry_after == 8
    right = otp.generate(totp_device.secret, at=at + 3)
    blocked = fresh(totp_device).check_code(right, at=at + 3)
    assert (blocked.ok, blocked.error, blocked.retry_after) == (False, "throttled", 5)
    # Throttled attempts do not count as further failures.
    assert fresh(totp_device).throttling_failure_count == 4
    assert fresh(totp_device).check_code(otp.generate(totp_device.secret, at=at + 8), at=at + 8).ok
    device = fresh(totp_device)
    assert (device.throttling_failure_count, device.throttling_failure_timestamp) == (0, None)


def test_verify_is_allowed_reports_lock_like_django_otp(totp_device, clock):
    totp_device.check_code(wrong_code(totp_device, clock.timestamp()))
    allowed, info = fresh(totp_device).verify_is_allowed()
    assert allowed is False
    assert info["reason"] is VerifyNotAllowed.N_FAILED_ATTEMPTS and info["failure_count"] == 1


def test_match_token_finds_the_device(totp_device, user):
    assert django_otp.match_token(user, code_for(totp_device)) == totp_device
    assert django_otp.match_token(user, code_for(totp_device)) is None  # the step is used


def test_verify_token_refuses_malformed_tokens_without_throttling(totp_device):
    for token in ["", "12345", "１２３４５６", None, 123]:
        assert totp_device.verify_token(token) is False
    assert fresh(totp_device).throttling_failure_count == 0


def test_unconfirmed_device_is_not_offered_by_django_otp(user):
    from mfa.totp import flows
    from tests.mfa.totp.conftest import flow_request

    pending = flows.start_enrolment(flow_request(user), user=user)
    assert list(django_otp.devices_for_user(user)) == []
    assert django_otp.match_token(user, code_for(pending)) is None
