"""Backup codes during the first set-up: turning on a first primary method ends on the new codes.

Every method is set up through its real pages: Google Authenticator with a
code computed from its secret, Text Messages with the code read from the
Dev SMS outbox (so those tests commit: texts go out after the commit).
"""
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from agencies import flows as agency_flows
from mfa.backup_codes import flows
from mfa.backup_codes.models import BackupCodeSet
from mfa.sms.models import SMSDevice
from mfa.totp.models import TOTPDevice
from tests.conftest import PASSWORD, add_fake_device, reauthenticate, sign_in
from tests.mfa.backup_codes.conftest import set_up_codes, sign_in_with_backup_code
from tests.mfa.sms.conftest import last_code
from tests.mfa.totp.conftest import code_for

pytestmark = pytest.mark.django_db

# Literal paths: reversing at import time would load the URLconf during collection.
PROFILE = "/account/profile/"
NEW = "/mfa/backup_codes/new/"
MANAGE = "/mfa/backup_codes/"
TOTP_START = "/mfa/totp/start/"
TOTP_SETUP = "/mfa/totp/setup/"
SMS_MANAGE = "/mfa/sms/"
SMS_VERIFY = "/mfa/sms/verify/"
CODE_RE = re.compile(r"<code data-backup-code>([2-9a-z]{6}-[2-9a-z]{6})</code>")
WARNING = "No backup codes: you could be locked out"


def html(response) -> str:
    return response.content.decode()


def method_row(page: str, key: str) -> str:
    """Return one row of the Multi-Factor Methods table."""
    match = re.search(rf'<tr class="method-row" data-method="{key}">.*?</tr>', page, re.S)
    assert match, f"no {key} row"
    return match.group(0)


def backup_codes_row(client) -> str:
    return method_row(html(client.get(PROFILE)), "backup_codes")


def enrol_totp_through_pages(client):
    """Google Authenticator > Add/Edit > Set up, then the code the app shows."""
    assert client.post(TOTP_START).url == TOTP_SETUP
    pending = TOTPDevice.objects.filter(confirmed=False).latest("pk")
    return client.post(TOTP_SETUP, {"setup_id": pending.setup_id, "code": code_for(pending)})


def enrol_sms_through_pages(client, number: str = "+1 415 555 2671"):
    """Text Messages > Add/Edit > the number, then the texted code."""
    assert client.post(SMS_MANAGE, {"number": number}).url == SMS_VERIFY
    return client.post(SMS_VERIFY, {"code": last_code()})


def set_state(user) -> tuple:
    """What identifies the user's current codes: regenerating changes it."""
    code_set = BackupCodeSet.objects.get(user=user)
    return code_set.pk, code_set.generated_at, code_set.confirmed


# -- the first primary method ends on the new codes ----------------------------------

def test_first_google_authenticator_set_up_ends_on_the_new_codes(reauthenticated_client, user):
    done = enrol_totp_through_pages(reauthenticated_client)

    assert done.status_code == 302 and done.url == NEW
    page = reauthenticated_client.get(NEW)
    text = html(page)
    assert page.status_code == 200
    assert "Google Authenticator is on." in text and "Save your backup codes" in text
    shown = CODE_RE.findall(text)
    assert shown == [row.code for row in flows.fresh_codes(page.wsgi_request, user).rows] and len(shown) == 10
    for label in ("Copy", "Download", "Print", "I have saved these codes"):
        assert label in text
    assert TOTPDevice.objects.get(user=user).confirmed
    assert AuditEvent.objects.filter(event_type=flows.GENERATED, target_user=user).count() == 1

    saved = reauthenticated_client.post(NEW, {"saved": "on"})

    assert saved.url == PROFILE
    row = backup_codes_row(reauthenticated_client)
    assert "10 of 10 codes remaining" in row and WARNING not in row


@pytest.mark.django_db(transaction=True)
def test_first_text_messages_set_up_ends_on_the_new_codes(reauthenticated_client, user):
    done = enrol_sms_through_pages(reauthenticated_client)

    assert done.status_code == 302 and done.url == NEW
    text = html(reauthenticated_client.get(NEW))
    assert "Text Messages is on. We will text you a code when you sign in." in text
    assert len(CODE_RE.findall(text)) == 10
    for label in ("Copy", "Download", "Print", "I have saved these codes"):
        assert label in text
    assert SMSDevice.objects.get(user=user).confirmed

    assert reauthenticated_client.post(NEW, {"saved": "on"}).url == PROFILE
    assert "10 of 10 codes remaining" in backup_codes_row(reauthenticated_client)


def test_new_codes_page_of_a_first_set_offers_to_skip(reauthenticated_client):
    enrol_totp_through_pages(reauthenticated_client)

    text = html(reauthenticated_client.get(NEW))

    assert f'<a href="{PROFILE}" id="skip-backup-codes">Skip for now</a>' in text
    assert "you could be locked out if you lose your phone" in text


# -- a second or replaced method keeps the codes -----------------------------------

def test_second_method_google_authenticator_keeps_the_codes(fresh_client, user_with_mfa):
    set_up_codes(user_with_mfa)
    before = set_state(user_with_mfa)

    done = enrol_totp_through_pages(fresh_client)

    assert done.url == PROFILE
    assert set_state(user_with_mfa) == before
    assert not AuditEvent.objects.filter(event_type=flows.REGENERATED).exists()
    assert AuditEvent.objects.filter(event_type=flows.GENERATED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_second_method_text_messages_keeps_the_codes(fresh_client, user_with_mfa):
    set_up_codes(user_with_mfa)
    before = set_state(user_with_mfa)

    done = enrol_sms_through_pages(fresh_client)

    assert done.url == PROFILE
    assert SMSDevice.objects.get(user=user_with_mfa).confirmed
    assert set_state(user_with_mfa) == before
    assert AuditEvent.objects.filter(event_type=flows.GENERATED).count() == 1


def test_replace_google_authenticator_keeps_the_codes(reauthenticated_client, user, clock):
    assert enrol_totp_through_pages(reauthenticated_client).url == NEW
    reauthenticated_client.post(NEW, {"saved": "on"})
    before = set_state(user)
    clock.advance(30)

    done = enrol_totp_through_pages(reauthenticated_client)

    assert done.url == PROFILE
    assert "Google Authenticator replaced." in html(reauthenticated_client.get(PROFILE))
    assert set_state(user) == before


@pytest.mark.django_db(transaction=True)
def test_second_method_after_skipping_makes_no_codes_and_the_warning_stays(reauthenticated_client, user):
    assert enrol_totp_through_pages(reauthenticated_client).url == NEW
    skipped = set_state(user)  # "Skip for now": straight to the Profile

    done = enrol_sms_through_pages(reauthenticated_client)

    assert done.url == PROFILE
    assert set_state(user) == skipped
    assert WARNING in backup_codes_row(reauthenticated_client)


# -- skipping, and the Profile's warning -------------------------------------------------

def test_skip_shows_no_backup_codes_warning_until_codes_are_saved(reauthenticated_client, user):
    enrol_totp_through_pages(reauthenticated_client)

    row = backup_codes_row(reauthenticated_client)  # "Skip for now" is a link to the Profile

    assert WARNING in row and "Not set up" in row
    assert f'href="{MANAGE}"' in row and "Add/Edit" in row
    # Come back later: Add/Edit shows the set just generated, and ticking "saved" ends the warning.
    assert "Show the codes you just generated" in html(reauthenticated_client.get(MANAGE))
    assert reauthenticated_client.post(NEW, {"saved": "on"}).url == PROFILE
    row = backup_codes_row(reauthenticated_client)
    assert WARNING not in row and "10 of 10 codes remaining" in row


def test_skipped_codes_do_not_sign_in(reauthenticated_client, user):
    enrol_totp_through_pages(reauthenticated_client)
    skipped = CODE_RE.findall(html(reauthenticated_client.get(NEW)))

    browser = Client()
    response = sign_in_with_backup_code(browser, user, skipped[0])

    assert response.status_code == 200 and "Use a backup code" not in html(response)
    assert browser.get(PROFILE).url == reverse("accounts:login_verify")  # still only half signed in


def test_profile_of_user_with_a_method_and_no_codes_warns(fresh_client):
    row = backup_codes_row(fresh_client)

    assert WARNING in row


def test_profile_of_user_without_any_method_does_not_warn(signed_in_client):
    assert WARNING not in html(signed_in_client.get(PROFILE))


def test_profile_warns_again_once_every_code_is_used(client, user_with_mfa):
    codes = set_up_codes(user_with_mfa)
    for code in codes:
        assert sign_in_with_backup_code(Client(), user_with_mfa, code).url == PROFILE

    assert sign_in(client, user_with_mfa).url == PROFILE
    assert WARNING in backup_codes_row(client)


def test_manage_users_edit_does_not_show_the_members_warning(acme):
    add_fake_device(acme.alice)
    add_fake_device(acme.admin)
    admin = Client()
    assert sign_in(admin, acme.admin).status_code == 302
    alice = Client()
    assert sign_in(alice, acme.alice).status_code == 302

    edit = html(admin.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])))

    assert "Backup Codes" in method_row(edit, "backup_codes") and WARNING not in edit
    assert WARNING in backup_codes_row(alice)


# -- the agency policy's forced enrolment ------------------------------------------------

def test_forced_enrolment_ends_on_the_new_codes(acme, client):
    add_fake_device(acme.owner)  # an owner must have two-factor to require it
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    assert sign_in(client, acme.alice, code=None).status_code == 302
    gate = client.get(PROFILE)
    assert gate.url == reverse("accounts:two_factor_required")
    assert f'href="{reverse("mfa:totp:manage")}"' in html(client.get(gate.url))
    assert reauthenticate(client, acme.alice).status_code == 302

    done = enrol_totp_through_pages(client)

    assert done.url == NEW
    page = client.get(NEW)
    assert page.status_code == 200 and len(CODE_RE.findall(html(page))) == 10
    assert client.post(NEW, {"saved": "on"}).url == PROFILE
    assert "10 of 10 codes remaining" in backup_codes_row(client)


# -- when no codes can be made, the set-up still stands ---------------------------------

def test_first_set_up_when_codes_cannot_be_made_still_turns_the_method_on(client, user_with_mfa, settings):
    """The operator took the user's only method out of MFA_METHODS; their saved codes outlived it.

    Generating refuses ("already set up"); Google Authenticator must be on
    all the same, and the user keeps the codes they saved.
    """
    codes = set_up_codes(user_with_mfa)
    before = set_state(user_with_mfa)
    settings.MFA_METHODS = [path for path in settings.MFA_METHODS if not path.startswith("tests.")]
    assert sign_in_with_backup_code(client, user_with_mfa, codes[0]).url == PROFILE
    response = client.post(reverse("accounts:reauthenticate"),
                           {"password": PASSWORD, "code": codes[1], "method": "backup_codes"})
    assert response.status_code == 302

    done = enrol_totp_through_pages(client)

    assert done.url == PROFILE
    assert "Google Authenticator is on." in html(client.get(PROFILE))
    assert TOTPDevice.objects.get(user=user_with_mfa).confirmed
    assert set_state(user_with_mfa) == before


def test_first_set_up_without_the_backup_codes_method_ends_on_the_profile(reauthenticated_client, user, settings):
    settings.MFA_METHODS = [path for path in settings.MFA_METHODS if "backup_codes" not in path]

    done = enrol_totp_through_pages(reauthenticated_client)

    assert done.url == PROFILE
    assert not BackupCodeSet.objects.filter(user=user).exists()
