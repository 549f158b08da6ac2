"""A passkey as the second factor, and as the whole sign-in."""
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import PASSWORD
from tests.mfa.webauthn.conftest import sign_in_options, sign_out
from tests.webauthn_authenticator import options_on

LOGIN, VERIFY, PROFILE = reverse("accounts:login"), reverse("accounts:login_verify"), reverse("accounts:profile")
PASSKEY_SIGN_IN = reverse("accounts:login_with_method", args=["webauthn"])


def test_step_2_offers_the_passkey_first_and_accepts_its_answer(client, user_with_key, authenticator):
    sign_out(client)
    response = client.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD})
    assert response.url == VERIFY
    page = client.get(VERIFY)
    assert page.context["method"].key == "webauthn"
    assert "Use your passkey or security key" in page.content.decode()
    options = options_on(page)
    assert [item["id"] for item in options["allowCredentials"]] == [
        WebAuthnCredential.objects.get(user=user_with_key).credential_id]

    response = client.post(VERIFY, {"method": "webauthn", "code": authenticator.get(options)})

    assert response.status_code == 302 and response.url == PROFILE
    assert client.get(PROFILE).wsgi_request.user.is_verified()
    key = WebAuthnCredential.objects.get(user=user_with_key)
    assert key.sign_count == 1 and key.last_used_at is not None


def test_a_passkey_with_user_verification_signs_in_alone(client, user_with_key, authenticator):
    sign_out(client)
    page = client.get(LOGIN)
    assert "Sign in with a passkey" in page.content.decode()

    response = client.post(PASSKEY_SIGN_IN, {"answer": authenticator.get(sign_in_options(client)), "next": PROFILE})

    assert response.status_code == 302 and response.url == PROFILE
    profile = client.get(PROFILE)
    assert profile.wsgi_request.user == user_with_key and profile.wsgi_request.user.is_verified()
    event = AuditEvent.objects.filter(event_type=audit.SIGN_IN_SUCCEEDED).latest("pk")
    assert event.method == "webauthn"
    assert "Passkeys and security keys" in profile.content.decode()  # in sign-in activity


def test_without_user_verification_the_password_is_still_asked_and_then_no_step_2(client, user_with_key,
                                                                                  authenticator):
    sign_out(client)
    response = client.post(PASSKEY_SIGN_IN, {"answer": authenticator.get(sign_in_options(client), user_verified=False)})

    assert response.status_code == 302 and response.url.startswith(LOGIN)
    page = client.get(response.url)
    assert "Enter your password to finish signing in" in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    response = client.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == PROFILE
    assert client.get(PROFILE).wsgi_request.user.is_verified()
