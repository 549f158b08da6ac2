"""Profile > Passkeys and security keys: adding (refusals), renaming and removing, as the owner sees them."""
import json

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from agencies import flows as agency_flows
from mfa.backup_codes.models import BackupCodeSet
from mfa.flows import BACKUP_METHODS_DESTROYED
from mfa.webauthn import flows
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import add_fake_device, reauthenticate, sign_in
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.webauthn.conftest import ADD, MANAGE, PROFILE, add_key, client_with_key, events, html, key_of
from tests.webauthn_authenticator import SoftwareAuthenticator, options_on

pytestmark = pytest.mark.django_db

ALREADY_REGISTERED = "This passkey or security key is registered already. Nothing was changed."
NAME_MISSING = "Give the key a name, such as “MacBook Touch ID” or “YubiKey 5”."
NAME_TAKEN = "You already have a key with that name. Choose another name."
NOT_YOURS = "That key is not one of yours, or it was removed already."
POLICY_REFUSAL = "Your agency requires two-factor authentication, so you cannot disable your last method."


def rename_url(key) -> str:
    return reverse("mfa:webauthn:rename", args=[key.pk])


def remove_url(key) -> str:
    return reverse("mfa:webauthn:remove", args=[key.pk])


def creation_options(client) -> dict:
    page = client.get(MANAGE)
    assert page.status_code == 200
    return options_on(page)


def without_exclusions(options: dict) -> dict:
    """The options as a browser that ignores excludeCredentials (or a forged request) would treat them."""
    return {**options, "excludeCredentials": []}


def emails_about(subject_part: str) -> list:
    return [message for message in mail.outbox if subject_part in message.subject]


# -- adding --------------------------------------------------------------------------

def test_registration_options_exclude_every_key_already_added_so_the_browser_refuses_them(
        user_with_key, reauthenticated_client, authenticator):
    second = SoftwareAuthenticator()
    assert add_key(reauthenticated_client, second, name="Laptop").status_code == 302

    options = creation_options(reauthenticated_client)

    stored = {key.credential_id: key.transports for key in WebAuthnCredential.objects.filter(user=user_with_key)}
    assert {item["id"]: item["transports"] for item in options["excludeCredentials"]} == stored
    # The authenticator holding a listed key refuses to make another one for this account.
    with pytest.raises(ValueError, match="InvalidStateError"):
        authenticator.create(options, credential_id=authenticator.credentials[0].credential_id)


def test_the_same_credential_registered_again_to_the_same_account_is_refused_and_the_key_kept(
        user_with_key, reauthenticated_client, authenticator, django_capture_on_commit_callbacks):
    original = key_of(user_with_key)
    mail.outbox.clear()
    options = without_exclusions(creation_options(reauthenticated_client))
    answer = authenticator.create(options, credential_id=authenticator.credentials[0].credential_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = reauthenticated_client.post(ADD, {"name": "Second name", "credential": answer})

    assert response.status_code == 400
    assert ALREADY_REGISTERED in html(response)
    kept = key_of(user_with_key)  # still one row, with its first public key and name
    assert (kept.pk, kept.name, bytes(kept.public_key)) == (original.pk, "YubiKey 5", bytes(original.public_key))
    assert events(flows.KEY_ADDED).count() == 1
    assert not emails_about("was added")


def test_a_credential_of_another_account_cannot_be_registered_to_this_one(
        user, reauthenticated_client, make_user, django_capture_on_commit_callbacks):
    other = make_user("other@example.test")
    other_authenticator = SoftwareAuthenticator()
    client_with_key(other, other_authenticator)
    other_key = key_of(other)
    mail.outbox.clear()
    stolen_id = other_authenticator.credentials[0].credential_id

    with django_capture_on_commit_callbacks(execute=True):
        response = add_key(reauthenticated_client, SoftwareAuthenticator(), name="Mine", credential_id=stolen_id)

    assert response.status_code == 400 and ALREADY_REGISTERED in html(response)
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert WebAuthnCredential.objects.get(credential_id=other_key.credential_id).user == other
    assert bytes(key_of(other).public_key) == bytes(other_key.public_key)
    assert mail.outbox == []


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_a_key_without_a_name_is_refused_and_nothing_is_added(reauthenticated_client, user, authenticator, name):
    response = add_key(reauthenticated_client, authenticator, name=name)

    assert response.status_code == 400
    assert NAME_MISSING in html(response)
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert not events(flows.KEY_ADDED).exists()


def test_a_name_already_used_by_another_key_is_refused_whatever_its_case(user_with_key, reauthenticated_client):
    response = add_key(reauthenticated_client, SoftwareAuthenticator(), name="yubikey   5")

    assert response.status_code == 400 and NAME_TAKEN in html(response)
    assert WebAuthnCredential.objects.filter(user=user_with_key).count() == 1


def test_a_name_longer_than_64_characters_is_refused(reauthenticated_client, user, authenticator):
    response = add_key(reauthenticated_client, authenticator, name="k" * 65)

    assert response.status_code == 400
    assert "Ensure this value has at most 64 characters (it has 65)." in html(response)
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_adding_without_the_browsers_answer_says_javascript_is_needed(reauthenticated_client, user):
    response = reauthenticated_client.post(ADD, {"name": "YubiKey 5"})

    assert response.status_code == 400
    assert "Press “Add a passkey or security key” and follow your browser's prompt. This needs JavaScript." in html(
        response)
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_no_more_keys_than_the_limit(user_with_key, reauthenticated_client, settings):
    settings.MFA_WEBAUTHN_MAX_KEYS_PER_USER = 2
    assert add_key(reauthenticated_client, SoftwareAuthenticator(), name="Second").status_code == 302

    response = add_key(reauthenticated_client, SoftwareAuthenticator(), name="Third")

    assert response.status_code == 400
    assert "You have 2 passkeys and security keys, the most one account can have." in html(response)
    assert sorted(WebAuthnCredential.objects.filter(user=user_with_key).values_list("name", flat=True)) == [
        "Second", "YubiKey 5"]


def test_a_second_key_keeps_the_accounts_user_handle_and_goes_back_to_the_profile(
        user_with_key, reauthenticated_client):
    response = add_key(reauthenticated_client, SoftwareAuthenticator(), name="Laptop")

    assert response.status_code == 302 and response.url == PROFILE
    handles = set(WebAuthnCredential.objects.filter(user=user_with_key).values_list("user_handle", flat=True))
    assert len(handles) == 1


def test_the_answer_must_be_a_registration_not_an_authentication(reauthenticated_client, user, authenticator):
    options = creation_options(reauthenticated_client)
    authenticator.create(options)  # the authenticator now holds a credential to sign with
    forged = authenticator.get({"challenge": options["challenge"]})  # "webauthn.get" over the same challenge

    response = reauthenticated_client.post(ADD, {"name": "YubiKey 5", "credential": forged})

    assert response.status_code == 400
    assert "Your browser's answer could not be read." in html(response)
    assert not WebAuthnCredential.objects.filter(user=user).exists()


# -- renaming ------------------------------------------------------------------------

def test_rename_is_shown_audited_and_emailed(user_with_key, reauthenticated_client, django_capture_on_commit_callbacks):
    key = key_of(user_with_key)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = reauthenticated_client.post(rename_url(key), {"name": "  Desk   key "})

    assert response.status_code == 302 and response.url == MANAGE
    page = html(reauthenticated_client.get(MANAGE))
    assert "The key is now called “Desk key”." in page and 'value="Desk key"' in page
    assert key_of(user_with_key).name == "Desk key"
    event = events(flows.KEY_RENAMED).get()
    assert (event.actor, event.target_user, event.method) == (user_with_key, user_with_key, "webauthn")
    assert event.data == {"key_id": key.pk, "name": "Desk key", "previous": "YubiKey 5"}
    [email] = emails_about("renamed")
    assert email.to == [user_with_key.email]
    assert "Desk key" in email.body and "YubiKey 5" in email.body


@pytest.mark.parametrize(("name", "message"), [("", NAME_MISSING), ("  ", NAME_MISSING), ("LAPTOP", NAME_TAKEN)])
def test_rename_to_no_name_or_another_keys_name_is_refused(user_with_key, reauthenticated_client, name, message):
    assert add_key(reauthenticated_client, SoftwareAuthenticator(), name="Laptop").status_code == 302
    key = WebAuthnCredential.objects.get(user=user_with_key, name="YubiKey 5")

    response = reauthenticated_client.post(rename_url(key), {"name": name})

    assert response.status_code == 400 and message in html(response)
    assert WebAuthnCredential.objects.get(pk=key.pk).name == "YubiKey 5"
    assert not events(flows.KEY_RENAMED).exists()


def test_renaming_another_accounts_key_is_refused(user_with_key, make_user):
    other = make_user("other@example.test")
    other_client = client_with_key(other, SoftwareAuthenticator(), name="Theirs")

    response = other_client.post(rename_url(key_of(user_with_key)), {"name": "Mine now"})

    assert response.status_code == 302 and response.url == MANAGE
    assert NOT_YOURS in html(other_client.get(MANAGE))
    assert key_of(user_with_key).name == "YubiKey 5"
    assert not events(flows.KEY_RENAMED).exists()


# -- removing ------------------------------------------------------------------------

def test_removing_one_of_two_keys_is_confirmed_audited_and_emailed_and_the_codes_stay(
        user_with_key, reauthenticated_client, django_capture_on_commit_callbacks):
    set_up_codes(user_with_key)
    assert add_key(reauthenticated_client, SoftwareAuthenticator(), name="Laptop").status_code == 302
    key = WebAuthnCredential.objects.get(user=user_with_key, name="YubiKey 5")
    mail.outbox.clear()

    confirm = reauthenticated_client.get(remove_url(key))
    assert confirm.status_code == 200
    assert "Remove “YubiKey 5”" in html(confirm) and "It is your last passkey" not in html(confirm)
    with django_capture_on_commit_callbacks(execute=True):
        response = reauthenticated_client.post(remove_url(key))

    assert response.status_code == 302 and response.url == MANAGE
    page = html(reauthenticated_client.get(MANAGE))
    assert "“YubiKey 5” was removed. It can no longer sign in." in page
    assert list(WebAuthnCredential.objects.filter(user=user_with_key).values_list("name", flat=True)) == ["Laptop"]
    event = events(flows.KEY_REMOVED).get()
    assert event.target_user == user_with_key and event.data == {"key_id": key.pk, "name": "YubiKey 5"}
    [email] = emails_about("was removed")
    assert email.to == [user_with_key.email] and "YubiKey 5" in email.body
    assert BackupCodeSet.objects.filter(user=user_with_key).exists()


def test_removing_the_last_key_without_a_policy_also_destroys_the_backup_codes(
        user_with_key, reauthenticated_client, django_capture_on_commit_callbacks):
    set_up_codes(user_with_key)
    key = key_of(user_with_key)
    mail.outbox.clear()

    confirm = html(reauthenticated_client.get(remove_url(key)))
    assert "It is your last passkey or security key." in confirm and ">Disable</button>" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = reauthenticated_client.post(remove_url(key))

    assert response.status_code == 302 and response.url == PROFILE
    assert not WebAuthnCredential.objects.filter(user=user_with_key).exists()
    assert not BackupCodeSet.objects.filter(user=user_with_key).exists()
    assert events(flows.KEY_REMOVED).count() == 1
    assert events(BACKUP_METHODS_DESTROYED).get().target_user == user_with_key
    assert len(emails_about("was removed")) == 1
    profile = reauthenticated_client.get(PROFILE)
    assert "“YubiKey 5” was removed." in html(profile)
    assert not profile.wsgi_request.user.is_verified()  # the key the session was verified with is gone


def test_removing_the_last_key_is_refused_while_the_agency_requires_two_factor(
        acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.owner)
    alice = client_with_key(acme.alice, SoftwareAuthenticator())
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    key = key_of(acme.alice)
    mail.outbox.clear()

    confirm = alice.get(remove_url(key))
    with django_capture_on_commit_callbacks(execute=True):
        refused = alice.post(remove_url(key))

    for page in (confirm, refused):
        assert page.status_code == 200 and POLICY_REFUSAL in html(page)
        assert "<button" not in html(page).split('id="webauthn-remove"')[1]  # no Disable button to press
    assert key_of(acme.alice).pk == key.pk
    assert not events(flows.KEY_REMOVED).exists()
    assert mail.outbox == []


def test_the_last_key_may_go_under_the_policy_when_another_method_stays(acme):
    add_fake_device(acme.owner)
    alice = client_with_key(acme.alice, SoftwareAuthenticator())
    add_fake_device(acme.alice)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)

    response = alice.post(remove_url(key_of(acme.alice)))

    assert response.status_code == 302 and response.url == PROFILE
    assert not WebAuthnCredential.objects.filter(user=acme.alice).exists()


def test_removing_another_accounts_key_is_refused(user_with_key, make_user):
    other = make_user("other@example.test")
    other_client = client_with_key(other, SoftwareAuthenticator(), name="Theirs")
    key = key_of(user_with_key)

    for response in (other_client.get(remove_url(key), follow=True), other_client.post(remove_url(key), follow=True)):
        assert response.status_code == 200 and NOT_YOURS in html(response)
    assert WebAuthnCredential.objects.filter(pk=key.pk, user=user_with_key).exists()
    assert not events(flows.KEY_REMOVED).exists()


def test_the_manage_page_lists_keys_with_no_secret(user_with_key, reauthenticated_client):
    page = html(reauthenticated_client.get(MANAGE))
    key = key_of(user_with_key)
    assert "You have 1 key." in page and "YubiKey 5" in page and "Never" in page
    # The options carry the key's id (to exclude it) but never its public key.
    assert json.dumps(bytes(key.public_key).hex()) not in page


def test_a_limit_of_one_key_is_said_in_the_singular(user_with_key, reauthenticated_client, settings):
    settings.MFA_WEBAUTHN_MAX_KEYS_PER_USER = 1

    response = add_key(reauthenticated_client, SoftwareAuthenticator(), name="Second")

    assert response.status_code == 400
    assert "You have 1 passkey or security key, the most one account can have." in html(response)
    assert WebAuthnCredential.objects.filter(user=user_with_key).count() == 1


def test_keys_added_from_two_pages_opened_before_the_first_key_share_one_user_handle(reauthenticated_client, user):
    """Otherwise the browser's passkey list would show the account twice."""
    other_browser = Client()
    assert sign_in(other_browser, user, code=None).status_code == 302
    assert reauthenticate(other_browser, user).status_code == 302
    pages = [creation_options(reauthenticated_client), creation_options(other_browser)]

    for browser, options, name in zip((reauthenticated_client, other_browser), pages, ("First", "Second"), strict=True):
        answer = SoftwareAuthenticator().create(options)
        assert browser.post(ADD, {"name": name, "credential": answer}).status_code == 302

    assert pages[0]["user"]["id"] == pages[1]["user"]["id"]
    assert len(set(WebAuthnCredential.objects.filter(user=user).values_list("user_handle", flat=True))) == 1


def test_a_key_added_after_the_last_one_was_removed_keeps_the_accounts_user_handle(
        user_with_key, reauthenticated_client):
    """The same handle lets the authenticator replace the passkey it still holds instead of keeping a dead one."""
    handle = key_of(user_with_key).user_handle
    assert reauthenticated_client.post(remove_url(key_of(user_with_key))).status_code == 302

    options = creation_options(reauthenticated_client)

    assert options["user"]["id"] == handle
