"""After a sign-in with a pass: a new primary method before anything else, and no step-up window."""
import pytest
from django.test import Client
from django.urls import reverse

from agencies import flows as agency_flows
from agencies import policy as agency_policy
from agencies.models import Agency
from mfa.access_pass.models import AccessPass
from tests.accounts.helpers import redirect_parts
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, sign_in
from tests.mfa.access_pass.conftest import issue, set_up_totp_on_pages, sign_in_with_pass
from tests.mfa.totp.conftest import code_for

SET_UP = reverse("mfa:access_pass:set_up")


@pytest.fixture
def held(acme, client):
    """Alice, who lost her phone (the fake method), signed in with a pass from her administrator."""
    add_fake_device(acme.alice)
    assert sign_in_with_pass(client, acme.alice, issue(acme.admin, acme.alice, acme.agency)).status_code == 302
    return client


@pytest.mark.parametrize("name", [
    "accounts:profile", "home", "accounts:password_change", "mfa:default_method", "mfa:totp:disable",
    "mfa:backup_codes:manage", "accounts:reauthenticate", "accounts:trusted_browsers_revoke_all",
])
def test_every_other_page_goes_to_set_up(held, name):
    for method in ("get", "post"):
        response = getattr(held, method)(reverse(name))
        assert response.status_code == 302 and response.url == SET_UP, (name, method)


def test_other_agency_pages_go_to_set_up_too(acme, held):
    for url in (reverse("settings:manage_users", args=[acme.agency.pk]), "/admin/"):
        response = held.get(url)
        assert response.status_code == 302 and response.url == SET_UP


def test_the_set_up_page_lists_the_primary_methods_with_their_links(held):
    page = held.get(SET_UP).content.decode()
    for name, label in (("mfa:totp:manage", "Google Authenticator"), ("mfa:sms:manage", "Text Messages"),
                        ("mfa:webauthn:manage", "Passkeys and security keys")):
        assert label in page and f'href="{reverse(name)}"' in page
    assert "Backup Codes" not in page and "Temporary access pass" not in page


def test_set_up_pages_open_without_step_up_and_sign_out_works(held):
    for name in ("mfa:totp:manage", "mfa:sms:manage", "mfa:webauthn:manage"):
        assert held.get(reverse(name)).status_code == 200, name
    assert held.get(reverse("accounts:logout")).status_code == 200
    response = held.post(reverse("accounts:logout"))
    assert response.status_code == 302 and "_auth_user_id" not in held.session


def test_setting_up_google_authenticator_ends_the_hold_without_a_step_up_window(acme, held):
    device = set_up_totp_on_pages(held, acme.alice)
    assert held.get(reverse("accounts:profile")).status_code == 200
    assert AccessPass.objects.get(user=acme.alice).settled_at is not None
    # A sensitive page outside set-up asks to confirm it's you: the pass opened no window.
    path, query = redirect_parts(held.get(reverse("mfa:default_method")))
    assert path == reverse("accounts:reauthenticate") and query["next"] == [reverse("mfa:default_method")]
    # The password and the new method open it, as for anyone.
    from tests.mfa.totp.conftest import to_middle_of_a_step

    to_middle_of_a_step()
    response = held.post(reverse("accounts:reauthenticate"), {
        "method": "totp", "password": PASSWORD, "code": code_for(device), "next": reverse("mfa:default_method")})
    assert response.status_code == 302 and held.get(reverse("mfa:default_method")).status_code == 200


def test_the_hold_binds_the_user_until_set_up_whatever_the_sign_in(acme, held):
    """Signing out and in again with the old method (or a trusted browser) does not skip the set-up."""
    held.post(reverse("accounts:logout"))
    other = Client()
    assert sign_in(other, acme.alice, code=FAKE_CODE).status_code == 302
    response = other.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url == SET_UP


def test_disable_and_remove_stay_behind_the_gates(acme, held):
    for name in ("mfa:totp:disable", "mfa:sms:disable"):
        assert held.get(reverse(name)).url == SET_UP


def test_only_methods_the_policy_allows_are_offered_and_count(acme, held):
    add_fake_device(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=7)
    Agency.objects.filter(pk=acme.agency.pk).update(allowed_methods=["totp"])
    agency_policy.forget_agency(acme.agency)

    page = held.get(SET_UP).content.decode()
    assert "Google Authenticator" in page and "Text Messages" not in page
    assert held.get(reverse("mfa:sms:manage")).url == SET_UP  # not allowed: not a way out
    assert held.get(reverse("mfa:totp:manage")).status_code == 200
    set_up_totp_on_pages(held, acme.alice)
    assert held.get(reverse("accounts:profile")).status_code == 200
