"""Adding, naming, renaming and removing passkeys and security keys from the Profile."""
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from mfa.webauthn.models import WebAuthnCredential
from tests.mfa.webauthn.conftest import add_key
from tests.webauthn_authenticator import YUBIKEY_5_AAGUID, SoftwareAuthenticator, options_on


def test_a_key_added_from_the_profile_is_stored_with_what_identifies_it(
        reauthenticated_client, user, django_capture_on_commit_callbacks):
    authenticator = SoftwareAuthenticator(aaguid=YUBIKEY_5_AAGUID)
    with django_capture_on_commit_callbacks(execute=True):
        response = add_key(reauthenticated_client, authenticator, name="  YubiKey   5 ")

    assert response.status_code == 302
    key = WebAuthnCredential.objects.get(user=user)
    assert key.name == "YubiKey 5"
    assert key.aaguid == "cb69481e-8ff7-4039-93ec-0a2729a154a8"
    assert key.transports == ["usb", "nfc"]
    assert key.sign_count == 0 and key.discoverable
    assert (key.backup_eligible, key.backed_up) == (False, False)
    assert bytes(key.public_key)[:1] == b"\xa5"  # a COSE map of five entries
    assert AuditEvent.objects.filter(event_type="mfa.webauthn.added", target_user=user).exists()
    assert any("YubiKey 5" in message.body and "was added" in message.body for message in mail.outbox)


def test_the_first_key_goes_on_to_backup_codes_like_any_first_method(reauthenticated_client, user, authenticator):
    response = add_key(reauthenticated_client, authenticator)

    assert response.status_code == 302 and response.url == reverse("mfa:backup_codes:new")


def test_registration_options_ask_for_a_discoverable_credential_with_verification_preferred_and_no_attestation(
        reauthenticated_client, user, authenticator):
    add_key(reauthenticated_client, authenticator, name="First")
    options = options_on(reauthenticated_client.get(reverse("mfa:webauthn:manage")))

    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["attestation"] == "none"
    assert options["rp"]["id"] == "testserver"
    assert [item["id"] for item in options["excludeCredentials"]] == [
        WebAuthnCredential.objects.get(user=user).credential_id]
    # The user handle is random, the same for every key of the account, and is neither the pk nor the email.
    assert options["user"]["id"] == WebAuthnCredential.objects.get(user=user).user_handle
    assert options["user"]["name"] == user.email


def test_a_synced_passkey_is_shown_as_synced_and_a_security_key_as_this_device_only(reauthenticated_client, user):
    add_key(reauthenticated_client, SoftwareAuthenticator(), name="YubiKey 5")
    add_key(reauthenticated_client, SoftwareAuthenticator(backup_eligible=True, backed_up=True, keeps_counter=False),
            name="Phone passkey")

    page = reauthenticated_client.get(reverse("mfa:webauthn:manage")).content.decode()
    assert page.index("YubiKey 5") < page.index("This device only")
    assert page.index("Phone passkey") < page.index("Synced passkey")
