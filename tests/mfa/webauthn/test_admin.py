"""Passkeys seen by the agency: Manage Users, an administrator's reset, and "Require two-factor"."""
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from agencies import flows as agency_flows
from mfa.backup_codes.models import BackupCodeSet
from mfa.flows import BACKUP_METHODS_DESTROYED
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import PASSWORD, add_fake_device, open_after_step_up, reauthenticate, sign_in
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.webauthn.conftest import (
    LOGIN,
    PROFILE,
    add_key,
    answer_step_2,
    client_with_key,
    events,
    html,
    sign_in_options,
    sign_in_with_passkey,
    start_sign_in,
    step_2_options,
)
from tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db

LABEL = "Passkeys and security keys"
TWO_FACTOR_REQUIRED = "/account/two-factor-required/"


def method_url(agency, member) -> str:
    return reverse("agencies:member_method", args=[agency.pk, member.pk, "webauthn"])


def owner_client(owner) -> Client:
    """The Owner, signed in with the fake method and just re-authenticated."""
    client = Client()
    add_fake_device(owner)
    assert sign_in(client, owner).status_code == 302
    assert reauthenticate(client, owner).status_code == 302
    return client


def row(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start:page.index("</tr>", start)]


@pytest.fixture
def alices_keys(acme):
    """Alice's two keys, added from her own Profile; her browser stays signed in."""
    laptop, phone = SoftwareAuthenticator(), SoftwareAuthenticator(backup_eligible=True, backed_up=True)
    browser = client_with_key(acme.alice, laptop, name="Laptop")
    assert add_key(browser, phone, name="Phone").status_code == 302
    return type("AlicesKeys", (), {"browser": browser, "laptop": laptop, "phone": phone})


# -- Manage Users --------------------------------------------------------------------------

def test_manage_users_shows_the_passkey_with_its_green_circle(acme, alices_keys):
    client = owner_client(acme.owner)

    page = html(client.get(reverse("settings:manage_users", args=[acme.agency.pk])))

    alice = row(page, 'data-email="alice@acme.test"')
    assert re.search(r'class="in-use-dot"[^>]*></span>' + re.escape(LABEL), alice)
    assert "Not enabled" in row(page, 'data-email="bob@acme.test"')
    assert "2 of 4 users have two-factor authentication" in page


def test_edit_user_shows_the_method_in_use_with_its_disable_page(acme, alices_keys):
    client = owner_client(acme.owner)

    page = html(client.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])))
    method_page = open_after_step_up(client, acme.owner, method_url(acme.agency, acme.alice))

    webauthn = row(page, 'data-method="webauthn"')
    assert "in-use-dot" in webauthn and method_url(acme.agency, acme.alice) in webauthn
    assert method_page.status_code == 200
    text = html(method_page)
    assert f"<h1>{LABEL}</h1>" in text and "Enabled · 2 keys" in text and ">Disable</button>" in text


# -- the administrator's reset -------------------------------------------------------------

def test_disable_removes_every_key_of_the_member_audits_emails_and_signs_them_out(
        acme, alices_keys, django_capture_on_commit_callbacks):
    set_up_codes(acme.alice)
    client = owner_client(acme.owner)
    open_after_step_up(client, acme.owner, method_url(acme.agency, acme.alice))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(method_url(acme.agency, acme.alice))

    assert response.status_code == 302
    assert response.url == reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])
    done = html(client.get(response.url))
    assert f"{LABEL} was disabled for alice@acme.test. They were signed out everywhere." in done
    assert "Not set up" in row(done, 'data-method="webauthn"')
    assert not WebAuthnCredential.objects.filter(user=acme.alice).exists()
    assert not BackupCodeSet.objects.filter(user=acme.alice).exists()  # no primary method is left
    event = events(agency_flows.MEMBER_METHOD_RESET).get()
    assert (event.actor, event.target_user, event.agency, event.method) == (
        acme.owner, acme.alice, acme.agency, "webauthn")
    assert events(BACKUP_METHODS_DESTROYED).get().target_user == acme.alice
    [email] = [m for m in mail.outbox if m.to == ["alice@acme.test"]]
    assert "owner@acme.test" in email.body and f"disabled {LABEL}" in email.body
    # Alice's browser was signed out, and neither of her keys signs in any more.
    assert alices_keys.browser.get(PROFILE).url.startswith(LOGIN)
    for key in (alices_keys.laptop, alices_keys.phone):
        fresh = Client()
        refused = sign_in_with_passkey(fresh, key.get(sign_in_options(fresh)))
        assert refused.status_code == 400
        assert "This passkey or security key is not registered to an account here." in html(refused)
    # Her password alone signs her in now, and she can add a key again.
    assert Client().post(LOGIN, {"email": "alice@acme.test", "password": PASSWORD}).url == PROFILE


def test_disable_for_a_member_without_keys_changes_nothing(acme, alices_keys):
    client = owner_client(acme.owner)
    open_after_step_up(client, acme.owner, method_url(acme.agency, acme.bob))

    response = client.post(method_url(acme.agency, acme.bob), follow=True)

    assert f"{LABEL} was not enabled for bob@acme.test; nothing changed." in html(response)
    assert WebAuthnCredential.objects.filter(user=acme.alice).count() == 2
    assert not events(agency_flows.MEMBER_METHOD_RESET).exists()


def test_a_member_cannot_disable_another_members_keys(acme, alices_keys):
    bob = owner_client(acme.bob)

    assert open_after_step_up(bob, acme.bob, method_url(acme.agency, acme.alice)).status_code == 404
    assert bob.post(method_url(acme.agency, acme.alice)).status_code == 404
    assert WebAuthnCredential.objects.filter(user=acme.alice).count() == 2


def test_disable_without_a_fresh_step_up_changes_nothing(acme, alices_keys):
    client = owner_client(acme.owner)  # re-authenticated, but the member pages ask on every visit

    response = client.post(method_url(acme.agency, acme.alice))

    assert response.status_code == 302 and response.url.startswith("/account/reauthenticate/")
    assert WebAuthnCredential.objects.filter(user=acme.alice).count() == 2


# -- "Require two-factor authentication" ---------------------------------------------------

@pytest.fixture
def policy_on(acme):
    add_fake_device(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)


def test_a_member_with_only_a_passkey_satisfies_the_policy(acme, policy_on):
    key = SoftwareAuthenticator()
    browser = client_with_key(acme.alice, key)  # set up while the policy already applied
    assert browser.get(PROFILE).status_code == 200

    for sign_in_with_key in ("step 2", "alone"):
        client = Client()
        if sign_in_with_key == "step 2":
            start_sign_in(client, acme.alice)
            assert answer_step_2(client, key.get(step_2_options(client))).url == PROFILE
        else:
            assert sign_in_with_passkey(client, key.get(sign_in_options(client))).url == PROFILE
        page = client.get(PROFILE)
        assert page.status_code == 200 and page.wsgi_request.user == acme.alice


def test_the_policy_sends_a_member_without_a_method_to_set_one_up_and_a_passkey_lifts_it(acme, policy_on):
    client = Client()
    assert sign_in(client, acme.bob, code=None).status_code == 302
    assert client.get(PROFILE).url == TWO_FACTOR_REQUIRED
    page = html(client.get(TWO_FACTOR_REQUIRED))
    assert LABEL in page and reverse("mfa:webauthn:manage") in page

    assert add_key(client, SoftwareAuthenticator()).status_code == 302

    assert client.get(PROFILE).status_code == 200
