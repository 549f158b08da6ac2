"""The Multi-Factor Methods pages shared by every method: "Choose which authentication method to use"."""
import re

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from mfa.registry import all_methods
from tests.conftest import reauthenticate, sign_in
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.totp.conftest import enrol

pytestmark = pytest.mark.django_db

CHOOSER = "/mfa/default/"
PROFILE = "/account/profile/"
REFUSAL = "Backup Codes is a recovery method"


@pytest.fixture
def mfa_client(client, user_with_mfa):
    """Signed in and re-authenticated with the test-only method: the chooser is open."""
    assert sign_in(client, user_with_mfa).status_code == 302
    assert reauthenticate(client, user_with_mfa).status_code == 302
    return client


def html(response) -> str:
    return response.content.decode()


def options(page: str) -> list[str]:
    select = re.search(r'<select name="method".*?</select>', page, re.S)
    assert select, "no method choice on the page"
    return re.findall(r'<option value="([^"]+)"', select.group(0))


def method_row(page: str, key: str) -> str:
    match = re.search(rf'<tr class="method-row" data-method="{key}">.*?</tr>', page, re.S)
    assert match, f"no {key} row"
    return match.group(0)


def test_profile_links_to_the_chooser(signed_in_client):
    assert f'href="{CHOOSER}"' in html(signed_in_client.get(PROFILE))


def test_chooser_for_user_without_method_lists_every_method_with_its_add_edit(reauthenticated_client):
    """The seed's step 3: "Click Choose which authentication method to use and click Add/Edit"."""
    response = reauthenticated_client.get(CHOOSER)

    page = html(response)
    assert response.status_code == 200
    assert "Choose which authentication method to use" in page
    assert "You have no two-factor method yet. Click Add/Edit next to a method to enable it." in page
    assert '<select name="method"' not in page
    for method in (m for m in all_methods() if m.listed_on_profile):  # not an administrator's access pass
        row = method_row(page, method.key)
        assert str(method.label) in row and "Not set up" in row
        if method.manage_url_name:
            assert f'href="{reverse(method.manage_url_name)}"' in row and "Add/Edit" in row


def test_chooser_add_edit_opens_the_method_set_up(reauthenticated_client):
    row = method_row(html(reauthenticated_client.get(CHOOSER)), "totp")
    link = re.search(r'<a class="button" href="([^"]+)">Add/Edit<span class="visually-hidden"> Google Authenticator</span></a>',
                     row).group(1)

    assert "Set up Google Authenticator" in html(reauthenticated_client.get(link))


def test_chooser_post_without_method_changes_nothing(reauthenticated_client, user):
    response = reauthenticated_client.post(CHOOSER, {"method": "totp"})

    assert response.status_code == 200 and "You have no two-factor method yet" in html(response)
    user.refresh_from_db()
    assert user.preferred_mfa_method == ""


def test_chooser_does_not_offer_backup_codes(mfa_client, user_with_mfa):
    set_up_codes(user_with_mfa)
    enrol(user_with_mfa)

    page = html(mfa_client.get(CHOOSER))

    assert options(page) == ["totp", "fake"]
    assert "Backup Codes is a recovery method, so sign-in never asks for it first" in page
    assert "Enabled" in method_row(page, "backup_codes")  # still listed with its Add/Edit, just not a choice


def test_chooser_forged_post_of_backup_codes_is_refused_and_changes_nothing(mfa_client, user_with_mfa):
    set_up_codes(user_with_mfa)

    response = mfa_client.post(CHOOSER, {"method": "backup_codes"})

    assert response.status_code == 200
    assert REFUSAL in html(response) and "Choose another method." in html(response)
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == ""
    assert not AuditEvent.objects.filter(event_type="mfa.default_method_changed").exists()


def test_chooser_forged_post_of_backup_codes_without_codes_is_refused_too(mfa_client, user_with_mfa):
    response = mfa_client.post(CHOOSER, {"method": "backup_codes"})

    assert REFUSAL in html(response)
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == ""


def test_chooser_saves_a_primary_method(mfa_client, user_with_mfa):
    enrol(user_with_mfa)

    response = mfa_client.post(CHOOSER, {"method": "totp"})

    assert response.url == PROFILE
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == "totp"
    assert "Your sign-in method was updated." in html(mfa_client.get(PROFILE))


def test_stored_backup_codes_preference_does_not_put_them_first(mfa_client, user_with_mfa):
    """A preference saved before Backup Codes were refused: the green circle stays on a primary method."""
    set_up_codes(user_with_mfa)
    user_with_mfa.preferred_mfa_method = "backup_codes"
    user_with_mfa.save(update_fields=["preferred_mfa_method"])

    page = html(mfa_client.get(PROFILE))

    assert 'class="in-use-dot"' in method_row(page, "fake")
    assert 'class="in-use-dot"' not in method_row(page, "backup_codes")
    assert options(html(mfa_client.get(CHOOSER))) == ["fake"]
