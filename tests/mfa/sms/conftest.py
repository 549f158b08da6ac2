"""Fixtures for the Text Messages tests.

Texts go out after the transaction commits, as in production, so tests that
send use ``django_db(transaction=True)``: inside the usual test transaction
nothing would ever commit, and nothing would be sent.
Numbers are set up through the product's own flows, reading the code from
the outbox gateway (the default in development and test settings).
"""
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from mfa.sms import flows
from mfa.sms.models import OutboxMessage, SMSDevice
from tests.conftest import PASSWORD

NUMBER = "+14155552671"  # US, shown as "+1 415-555-2671", masked "+1 •••-•••-2671"
OTHER_NUMBER = "+447400123456"  # GB mobile
_CODE_IN_TEXT = re.compile(r"verification code is (\d{6})\.")


def flow_request(user=None, *, session=None, ip: str = "203.0.113.7"):
    """A request as the flows receive it, for calling them directly."""
    request = RequestFactory().post("/", REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest")
    request.user = user or AnonymousUser()
    request.session = session if session is not None else SessionStore()
    return request


def last_text(to: str | None = None) -> OutboxMessage:
    texts = OutboxMessage.objects.all()
    if to:
        texts = texts.filter(to=to)
    text = texts.first()
    assert text is not None, "no text in the outbox"
    return text


def last_code(to: str | None = None) -> str:
    return _CODE_IN_TEXT.search(last_text(to).body).group(1)


def texts_to(number: str) -> int:
    return OutboxMessage.objects.filter(to=number).count()


def enrol_sms(user, number: str = NUMBER) -> SMSDevice:
    """Set up Text Messages for ``user`` through the flows, reading the code from the outbox."""
    request = flow_request(user)
    outcome = flows.start_enrolment(request, user=user, number=number)
    assert outcome.sent, outcome
    result = flows.confirm_setup_code(request, user=user, code=last_code(number))
    assert result.ok, result
    return flows.active_device(user)


@pytest.fixture
def sms_user(user):
    enrol_sms(user)
    return user


def start_sign_in(client, user, *, password: str = PASSWORD):
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": password})
    assert response.status_code == 302 and response.url == reverse("accounts:login_verify"), response
    return response


@pytest.fixture
def day_start(clock):
    """Move the project clock to just after 00:00 UTC.

    Limits count in fixed windows (15 minutes, one day); starting on a
    window edge keeps a test that moves the clock a few minutes inside one.
    """
    clock.advance(24 * 60 * 60 - clock.timestamp() % (24 * 60 * 60) + 1)
    return clock


@pytest.fixture
def next_codes(monkeypatch):
    """Make the next codes predictable: ``next_codes("111111", "222222")``."""
    from mfa.sms import codes

    def script(*values: str) -> None:
        queue = iter(values)
        monkeypatch.setattr(codes, "generate_code", lambda: next(queue))

    return script
