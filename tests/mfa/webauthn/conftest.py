"""Fixtures of the passkey tests: a software authenticator and keys added through the real pages."""
import pytest
from django.urls import reverse

from mfa.webauthn.models import WebAuthnCredential
from tests.webauthn_authenticator import SoftwareAuthenticator, options_on


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
