"""Fixtures for the Google Authenticator tests.

Devices are enrolled through the product's own flows (start, then confirm
with a code computed from the secret), never written by hand.
"""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from ctm_auth import clock as project_clock
from mfa.totp import flows, otp
from mfa.totp.models import TOTPDevice
from tests.conftest import PASSWORD


def code_for(device: TOTPDevice, *, steps: int = 0, digits: int | None = None) -> str:
    """Return the code the user's app shows now (or ``steps`` time-steps away)."""
    at = project_clock.timestamp() + steps * device.step
    return otp.generate(device.secret, at=at, digits=digits or device.digits, step=device.step)


def flow_request(user=None):
    """A request as the flows receive it, for calling them directly."""
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    return request


def to_middle_of_a_step(step: int = 30) -> None:
    """Move the project clock to the middle of a time-step.

    A code is computed a moment before the server checks it; started at a
    step's middle, the test has half a step (15 s) before the real clock can
    carry it into the next step and make the code one step old.
    """
    project_clock.advance(step - project_clock.timestamp() % step + step / 2)


def enrol(user) -> TOTPDevice:
    """Set up Google Authenticator for ``user`` through the flows, then move to the next time-step.

    Confirming consumes the current time-step, so a test that signs in right
    after enrolment needs the next one, as a person would. Both happen in the
    middle of a step, so the codes the test computes are not at a step's edge.
    """
    to_middle_of_a_step()
    pending = flows.start_enrolment(flow_request(user), user=user)
    outcome = flows.confirm_enrolment(flow_request(user), user=user, setup_id=pending.setup_id,
                                      code=code_for(pending))
    assert outcome.ok, outcome
    project_clock.advance(pending.step)
    return outcome.device


@pytest.fixture
def totp_device(user) -> TOTPDevice:
    return enrol(user)


def reauthenticate_with_totp(client, device: TOTPDevice, *, password: str = PASSWORD, code: str | None = None):
    return client.post(reverse("accounts:reauthenticate"),
                       {"password": password, "code": code if code is not None else code_for(device)})


def sign_in_with_totp(client, user, device: TOTPDevice, *, code: str | None = None):
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("accounts:login_verify")
    return client.post(reverse("accounts:login_verify"), {"code": code if code is not None else code_for(device)})
