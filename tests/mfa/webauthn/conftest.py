"""Fixtures of the passkey tests: a software authenticator and keys added through the real pages."""
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import PASSWORD, reauthenticate, sign_in
from tests.webauthn_authenticator import SoftwareAuthenticator, options_on

# Literal paths where reversing at import time would load the URLconf during collection.
LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"
REAUTH = "/account/reauthenticate/"
PASSKEY_SIGN_IN = "/account/login/with/webauthn/"
PASSKEY_OPTIONS = "/account/login/with/webauthn/options/"
MANAGE = "/mfa/webauthn/"
ADD = "/mfa/webauthn/add/"


@pytest.fixture
def authenticator() -> SoftwareAuthenticator:
    return SoftwareAuthenticator()


def add_key(client, authenticator: SoftwareAuthenticator, name: str = "YubiKey 5", **create_kwargs):
    """Add a key from Profile > Passkeys and security keys, as the page's script does; return the response."""
    page = client.get(reverse("mfa:webauthn:manage"))
    assert page.status_code == 200, page
    answer = authenticator.create(options_on(page), **create_kwargs)
    return client.post(reverse("mfa:webauthn:add"), {"name": name, "credential": answer})


@pytest.fixture
def user_with_key(reauthenticated_client, user, authenticator):
    """``user`` with one key ("YubiKey 5"), added from their Profile; the client stays signed in."""
    response = add_key(reauthenticated_client, authenticator)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert WebAuthnCredential.objects.filter(user=user).count() == 1
    return user


def client_with_key(user, authenticator: SoftwareAuthenticator, name: str = "YubiKey 5") -> Client:
    """Sign ``user`` (no second factor yet) in with the password and add a key from their Profile."""
    client = Client()
    assert sign_in(client, user, code=None).status_code == 302
    assert reauthenticate(client, user).status_code == 302
    assert add_key(client, authenticator, name=name).status_code == 302
    return client


def html(response) -> str:
    """The page's text as a person reads it (Django escapes ' and “ in messages)."""
    return unescape(response.content.decode())


def key_of(user) -> WebAuthnCredential:
    return WebAuthnCredential.objects.get(user=user)


def events(event_type: str):
    return AuditEvent.objects.filter(event_type=event_type)


def sign_out(client) -> None:
    client.post(reverse("accounts:logout"))


def start_sign_in(client, user, *, password: str = PASSWORD):
    """Step 1: the password; the key is asked next."""
    response = client.post(LOGIN, {"email": user.email, "password": password})
    assert response.status_code == 302 and response.url == VERIFY, response
    return response


def step_2_options(client) -> dict:
    """Open step 2 (a passkey is offered first) and return the options its script would use."""
    page = client.get(VERIFY)
    assert page.status_code == 200 and page.context["method"].key == "webauthn"
    return options_on(page)


def answer_step_2(client, answer: str):
    return client.post(VERIFY, {"method": "webauthn", "code": answer})


def sign_in_options(client) -> dict:
    """What the sign-in page's script fetches before it calls navigator.credentials.get()."""
    response = client.post(PASSKEY_OPTIONS)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def sign_in_with_passkey(client, answer: str, next_url: str = ""):
    return client.post(PASSKEY_SIGN_IN, {"answer": answer, **({"next": next_url} if next_url else {})})


def step_up_options(client, next_url: str = "") -> dict:
    """Open "Confirm it's you" with the passkey and return its options."""
    page = client.get(REAUTH, {"method": "webauthn", **({"next": next_url} if next_url else {})})
    assert page.status_code == 200 and page.context["method"].key == "webauthn"
    return options_on(page)


def step_up(client, answer: str, *, password: str = PASSWORD, next_url: str = ""):
    """Post "Confirm it's you": the password, and the key's answer in the ``code`` field."""
    return client.post(REAUTH, {"password": password, "method": "webauthn", "code": answer,
                                **({"next": next_url} if next_url else {})})


def signed_in_user(client):
    """Return who the client is signed in as (AnonymousUser when nobody)."""
    return client.get(PROFILE).wsgi_request.user
