"""Fixtures for the Backup Codes tests.

Codes are made through the product's own flows (generate, then "I have saved
these codes"), never written by hand. The primary method is the test-only
fake method (code 424242), so these tests do not depend on TOTP or SMS.
"""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from mfa.backup_codes import flows
from tests.conftest import FAKE_CODE, PASSWORD

CLIENT_IP = "203.0.113.7"


def flow_request(user=None, *, ip: str = CLIENT_IP):
    """A request as the flows receive it (session and messages included), for calling them directly."""
    request = RequestFactory().post("/", REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def set_up_codes(user) -> list[str]:
    """Generate a set for ``user`` and tick "saved"; return the codes as shown ("7hx4km-2q9pab")."""
    request = flow_request(user)
    flows.generate_codes(request, user=user)
    shown = flows.fresh_codes(request, user)
    flows.confirm_saved(request, user=user)
    return [row.code for row in shown.rows]


@pytest.fixture
def codes(user_with_mfa) -> list[str]:
    """The ten codes of ``user`` (who also has the fake primary method)."""
    return set_up_codes(user_with_mfa)


def start_sign_in(client, user, *, password: str = PASSWORD):
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": password})
    assert response.status_code == 302 and response.url == reverse("accounts:login_verify"), response
    return response


def submit_backup_code(client, code: str, **extra):
    """Answer sign-in step 2 with a backup code, as the "Use a backup code" page posts it."""
    return client.post(reverse("accounts:login_verify"), {"method": "backup_codes", "code": code}, **extra)


def sign_in_with_backup_code(client, user, code: str, **extra):
    start_sign_in(client, user)
    return submit_backup_code(client, code, **extra)


def reauthenticate_with_fake(client) -> None:
    response = client.post(reverse("accounts:reauthenticate"), {"password": PASSWORD, "code": FAKE_CODE})
    assert response.status_code == 302, response


@pytest.fixture
def fresh_client(client, user_with_mfa):
    """A client signed in with the fake method and just re-authenticated (the "sudo" window is open)."""
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})
    assert client.post(reverse("accounts:login_verify"), {"code": FAKE_CODE}).status_code == 302
    reauthenticate_with_fake(client)
    return client


