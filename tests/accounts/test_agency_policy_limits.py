"""What a member meets of their agency's policy beyond the matrix: the step-up window, trusted
browsers, refused method keys (bad input), the Profile, the forced page, and the cost of asking."""
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent, TrustedBrowser
from accounts.selectors import profile_methods
from agencies.flows import add_member, create_agency
from agencies.models import Role
from agencies.policy import forget_agency
from ctm_auth import clock
from mfa.backup_codes.models import BackupCodeSet
from mfa.policy import disable_refusal
from mfa.totp.models import TOTPDevice
from mfa.webauthn import flows as webauthn_flows
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, reauthenticate, sign_in
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.totp.conftest import code_for, enrol, flow_request, to_middle_of_a_step
from tests.mfa.webauthn.conftest import sign_in_options, sign_in_with_passkey
from tests.webauthn_authenticator import SoftwareAuthenticator

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
REAUTH = "/account/reauthenticate/"
PROFILE = "/account/profile/"
FORCED = "/account/two-factor-required/"
SENSITIVE = "/mfa/default/"  # behind step-up, for the window's length


def html(response) -> str:
    return unescape(response.content.decode())


def set_policy(agency, **fields) -> None:
    """Write the Owner's choices on the Agency row, then drop its members' cached answers."""
    for name, value in fields.items():
        setattr(agency, name, value)
    agency.save()
    forget_agency(agency)


def require(agency, **fields) -> None:
    set_policy(agency, require_two_factor=True, two_factor_required_since=clock.now(), two_factor_deadline=None,
               **fields)


def add_passkey(user, authenticator: SoftwareAuthenticator) -> None:
    request = flow_request(user)
    request._messages = FallbackStorage(request)
    options = webauthn_flows.registration_options(request, user=user)
    assert webauthn_flows.add_key(request, user=user, name="Key", answer=authenticator.create(options)).ok


def signed_in_as(client):
    return client.get(reverse("accounts:logout")).wsgi_request.user


# -- the step-up window, per member --------------------------------------------

@pytest.mark.parametrize("minutes", [5, 60])
def test_step_up_window_is_the_agencys(acme, clock, minutes):
    set_policy(acme.agency, step_up_minutes=minutes)
    add_fake_device(acme.alice)
    client = Client()
    sign_in(client, acme.alice)
    assert reauthenticate(client, acme.alice).status_code == 302

    for _ in range(minutes // 5 - 1):  # busy the whole time: the session's idle timeout never ends it
        clock.advance(5 * 60)
        assert client.get(PROFILE).status_code == 200
    clock.advance(5 * 60 - 30)
    assert client.get(SENSITIVE).status_code == 200
    clock.advance(31)
    response = client.get(SENSITIVE)

    assert response.status_code == 302 and response.url.startswith(REAUTH)


def test_step_up_window_without_an_eligible_agency_is_the_apps_default(solo, clock, settings):
    settings.MFA_REAUTH_WINDOW = 7 * 60
    set_policy(solo.agency, step_up_minutes=60)  # a Starter plan sets no policy: ignored
    add_fake_device(solo.owner)
    client = Client()
    sign_in(client, solo.owner)
    reauthenticate(client, solo.owner)

    clock.advance(7 * 60 - 5)
    assert client.get(SENSITIVE).status_code == 200
    clock.advance(10)
    assert client.get(SENSITIVE).status_code == 302


def test_two_agencies_the_shorter_step_up_window_wins(acme, make_user, clock):
    beta = create_agency(name="Beta Agency", plan_code="growth", owner=make_user("owner@beta.test"))
    add_member(agency=beta, user=acme.alice, role=Role.USER)
    set_policy(acme.agency, step_up_minutes=60)
    set_policy(beta, step_up_minutes=5)
    add_fake_device(acme.alice)
    client = Client()
    sign_in(client, acme.alice)
    reauthenticate(client, acme.alice)

    clock.advance(5 * 60 + 1)

    assert client.get(SENSITIVE).status_code == 302


def test_shortening_the_step_up_window_shortens_an_open_window_at_once(acme, clock):
    set_policy(acme.agency, step_up_minutes=60)
    add_fake_device(acme.alice)
    client = Client()
    sign_in(client, acme.alice)
    reauthenticate(client, acme.alice)
    clock.advance(20 * 60)
    assert client.get(SENSITIVE).status_code == 200

    set_policy(acme.agency, step_up_minutes=10)

    assert client.get(SENSITIVE).status_code == 302


# -- trusted browsers ----------------------------------------------------------

def trust_browser(client, user):
    assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).url == VERIFY
    assert client.post(VERIFY, {"method": "fake", "code": FAKE_CODE, "remember_browser": "on"}).status_code == 302
    client.post(reverse("accounts:logout"))


def password_step(client, user):
    return client.post(LOGIN, {"email": user.email, "password": PASSWORD})


def test_lowering_the_trusted_browser_period_shortens_existing_trust_at_once(acme, clock):
    add_fake_device(acme.alice)
    client = Client()
    trust_browser(client, acme.alice)  # for 30 days
    clock.advance(8 * 86400)
    set_policy(acme.agency, trusted_browser_days=10)
    assert password_step(client, acme.alice).url == PROFILE  # 8 days old, period 10: still trusted
    client.post(reverse("accounts:logout"))

    set_policy(acme.agency, trusted_browser_days=7)

    assert password_step(client, acme.alice).url == VERIFY  # 8 days old, period 7: asked again
    assert TrustedBrowser.objects.get(user=acme.alice).revoked_at is None  # cut by the period, not revoked


def test_turning_trusted_browsers_off_ends_existing_trust_and_removes_the_box(acme):
    add_fake_device(acme.alice)
    client = Client()
    trust_browser(client, acme.alice)

    set_policy(acme.agency, allow_trusted_browsers=False)

    assert password_step(client, acme.alice).url == VERIFY
    page = client.get(VERIFY)
    assert "remember_browser" not in page.context["form"].fields
    assert "Don't ask for a code on this browser" not in html(page)
    # A forged tick makes no trust either.
    assert client.post(VERIFY, {"method": "fake", "code": FAKE_CODE, "remember_browser": "on"}).status_code == 302
    assert TrustedBrowser.objects.filter(user=acme.alice).count() == 1  # only the old row


def test_step_two_box_names_the_policys_days(acme):
    set_policy(acme.agency, trusted_browser_days=7)
    add_fake_device(acme.alice)
    client = Client()
    password_step(client, acme.alice)

    page = html(client.get(VERIFY))

    assert "Don't ask for a code on this browser for 7 days" in page
    client.post(VERIFY, {"method": "fake", "code": FAKE_CODE, "remember_browser": "on"})
    row = TrustedBrowser.objects.get(user=acme.alice)
    assert row.expires_at - row.created_at == timedelta(days=7)


def test_the_apps_shorter_default_still_wins_over_a_longer_policy(acme, settings):
    settings.ACCOUNTS_TRUSTED_BROWSER_DAYS = 3
    set_policy(acme.agency, trusted_browser_days=20)
    add_fake_device(acme.alice)
    client = Client()
    password_step(client, acme.alice)

    assert "for 3 days" in html(client.get(VERIFY))


# -- bad input: a refused method key -------------------------------------------

def test_step_two_refuses_a_posted_method_the_policy_does_not_allow(acme):
    to_middle_of_a_step()
    enrol(acme.alice)
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["totp"])
    client = Client()
    assert password_step(client, acme.alice).url == VERIFY
    assert [m.key for m in client.get(VERIFY).context["alternatives"]] == []  # the fake code is not offered

    response = client.post(VERIFY, {"method": "fake", "code": FAKE_CODE})

    assert response.status_code == 400
    assert "Acme Agency does not allow Fake code. Use Google Authenticator." in html(response)
    assert not signed_in_as(client).is_authenticated
    assert not AuditEvent.objects.filter(event_type="signin.succeeded").exists()
    failure = AuditEvent.objects.get(event_type="signin.second_factor_failed")
    assert failure.method == "fake" and failure.data["error"] == "method_not_allowed"


def test_step_up_refuses_a_posted_method_the_policy_does_not_allow(acme, clock):
    to_middle_of_a_step()
    device = enrol(acme.alice)
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["totp"])
    client = Client()
    client.force_login(acme.alice)

    response = client.post(REAUTH, {"password": PASSWORD, "method": "fake", "code": FAKE_CODE})

    assert response.status_code == 400
    assert "Acme Agency does not allow Fake code. Use Google Authenticator." in html(response)
    assert client.get(SENSITIVE).status_code == 302  # no window opened
    assert AuditEvent.objects.get(event_type="reauth.failed").data["error"] == "method_not_allowed"
    # A switch to the refused method is refused the same way; the allowed one still works.
    assert client.post(REAUTH, {"password": PASSWORD, "use_method": "fake"}).status_code == 400
    assert client.post(REAUTH, {"password": PASSWORD, "method": "totp", "code": code_for(device)}).status_code == 302
    assert client.get(SENSITIVE).status_code == 200


def test_passkey_sign_in_is_refused_when_the_policy_does_not_allow_passkeys(acme):
    authenticator = SoftwareAuthenticator()
    add_passkey(acme.alice, authenticator)
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["fake"])
    client = Client()

    response = sign_in_with_passkey(client, authenticator.get(sign_in_options(client)))

    assert response.status_code == 400
    assert "Acme Agency does not allow Passkeys and security keys. Sign in with your email and password." in html(
        response)
    assert not signed_in_as(client).is_authenticated
    assert password_step(client, acme.alice).url == VERIFY  # the password, then the allowed method


# -- the Profile, the chooser and Disable ------------------------------------------

def test_profile_marks_refused_methods_and_keeps_edit_of_an_existing_one(acme):
    authenticator = SoftwareAuthenticator()
    add_passkey(acme.alice, authenticator)
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["webauthn"])
    client = Client()
    client.force_login(acme.alice)

    page = client.get(PROFILE)

    rows = {row.key: row for row in page.context["methods"]}
    assert rows["webauthn"].allowed and rows["webauthn"].in_use
    assert not rows["totp"].allowed and not rows["totp"].can_manage  # no Add
    assert not rows["fake"].allowed and rows["fake"].is_active
    text = html(page)
    totp_row = text[text.index('data-method="totp"'):]
    totp_row = totp_row[:totp_row.index("</tr>")]
    assert "Not allowed by your agency" in totp_row and "Add/Edit" not in totp_row
    sms_row = text[text.index('data-method="sms"'):]
    assert "Not allowed by your agency" in sms_row[:sms_row.index("</tr>")]


def test_default_method_chooser_lists_only_allowed_methods_and_refuses_a_forged_one(acme):
    to_middle_of_a_step()
    device = enrol(acme.alice)
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["totp"])
    client = Client()
    client.force_login(acme.alice)
    assert client.post(REAUTH, {"password": PASSWORD, "code": code_for(device)}).status_code == 302

    page = client.get(SENSITIVE)
    assert [key for key, _label in page.context["form"].fields["method"].choices] == ["totp"]
    response = client.post(SENSITIVE, {"method": "fake"})

    assert "Acme Agency does not allow Fake code." in html(response)
    acme.alice.refresh_from_db()
    assert acme.alice.preferred_mfa_method == ""


def test_disable_counts_only_allowed_methods(acme):
    to_middle_of_a_step()
    enrol(acme.alice)
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["totp"])

    assert disable_refusal(acme.alice, "totp") is not None  # the fake code does not count
    assert disable_refusal(acme.alice, "fake") is None  # a refused method may always go


def test_set_up_refusal_names_the_agency_and_the_allowed_methods(acme):
    require(acme.agency, allowed_methods=["totp", "webauthn"])
    client = Client()
    sign_in(client, acme.alice, code=None)
    reauthenticate(client, acme.alice)

    response = client.post(reverse("mfa:sms:manage"), {"number": "+14155552671"}, follow=True)

    assert ("Acme Agency does not allow Text Messages. Set up Passkeys and security keys or Google "
            "Authenticator.") in html(response)


# -- backup codes off ------------------------------------------------------------

def test_generate_backup_codes_is_refused_while_they_are_off(acme):
    add_fake_device(acme.alice)
    require(acme.agency, allow_backup_codes=False)
    client = Client()
    sign_in(client, acme.alice)
    reauthenticate(client, acme.alice)

    response = client.post(reverse("mfa:backup_codes:generate"), follow=True)

    assert "Acme Agency does not allow Backup Codes." in html(response)
    assert not BackupCodeSet.objects.filter(user=acme.alice).exists()


def test_a_first_set_up_ends_on_the_profile_without_codes_while_they_are_off(acme):
    require(acme.agency, allow_backup_codes=False)
    client = Client()
    sign_in(client, acme.alice, code=None)
    reauthenticate(client, acme.alice)
    to_middle_of_a_step()
    client.post(reverse("mfa:totp:start"))
    pending = TOTPDevice.objects.get(user=acme.alice, confirmed=False)

    response = client.post(reverse("mfa:totp:setup"), {"setup_id": pending.setup_id, "code": code_for(pending)})

    assert response.status_code == 302 and response.url == PROFILE
    assert not BackupCodeSet.objects.filter(user=acme.alice).exists()


def test_existing_backup_codes_are_not_offered_while_off(acme):
    add_fake_device(acme.alice)
    set_up_codes(acme.alice)
    require(acme.agency, allow_backup_codes=False)
    client = Client()
    password_step(client, acme.alice)

    assert client.get(VERIFY, {"method": "backup_codes"}).context["method"].key == "fake"
    profile_rows = {row.key: row for row in _profile_rows(acme.alice)}
    assert not profile_rows["backup_codes"].allowed and profile_rows["backup_codes"].warning == ""


def _profile_rows(user):
    return profile_methods(user)


# -- the forced page -------------------------------------------------------------

def test_forced_page_lists_only_allowed_methods_and_says_why(acme):
    add_fake_device(acme.bob)  # bob's only method
    require(acme.agency, allowed_methods=["webauthn"])
    client = Client()
    assert password_step(client, acme.bob).url == PROFILE  # not enrolled: no step 2
    assert client.get(PROFILE).url == FORCED

    page = client.get(FORCED)

    assert [row.key for row in page.context["methods"]] == ["webauthn"]
    text = html(page)
    assert "Your agency allows only these methods:" in text and "Passkeys and security keys" in text
    assert "Your agency no longer allows the method you set up (Fake code)" in text
    assert "Google Authenticator" not in text


def test_forced_page_says_plainly_when_two_agencies_share_no_method(acme, make_user):
    beta = create_agency(name="Beta Agency", plan_code="growth", owner=make_user("owner@beta.test"))
    add_member(agency=beta, user=acme.bob, role=Role.USER)
    require(acme.agency, allowed_methods=["totp"])
    require(beta, allowed_methods=["webauthn"])
    client = Client()
    sign_in(client, acme.bob, code=None)

    page = client.get(FORCED)

    assert page.status_code == 200 and page.context["methods"] == []
    assert "Your agencies' policies have no method in common; ask an administrator." in html(page)


# -- the cost: one policy query, whatever the methods -----------------------------

def test_profile_reads_the_policy_once_and_a_restriction_adds_no_query(acme):
    add_fake_device(acme.alice)
    client = Client()
    client.force_login(acme.alice)
    client.get(PROFILE)  # the session's first request does more than the others
    require(acme.agency)
    with CaptureQueriesContext(connection) as open_policy:
        client.get(PROFILE)
    require(acme.agency, allowed_methods=["fake"], allow_backup_codes=False)
    with CaptureQueriesContext(connection) as restricted:
        client.get(PROFILE)

    is_policy_query = lambda sql: "agency__step_up_minutes" in sql  # noqa: E731 - the policy row's alias
    assert len([q for q in open_policy if is_policy_query(q["sql"])]) == 1
    assert len([q for q in restricted if is_policy_query(q["sql"])]) == 1
    # Marking refused methods reads nothing more (it skips the refused codes' warning, if anything).
    assert len(restricted) <= len(open_policy)


@pytest.mark.parametrize("manage", ["mfa:totp:manage", "mfa:sms:manage", "mfa:webauthn:manage"])
def test_add_pages_of_refused_methods_send_back_to_the_profile(acme, manage):
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["fake"])
    client = Client()
    sign_in(client, acme.alice)
    reauthenticate(client, acme.alice)

    response = client.get(reverse(manage))

    assert response.status_code == 302 and response.url == f"{PROFILE}#multi-factor-methods"


def test_passkeys_page_keeps_rename_and_remove_but_not_add_when_refused(acme):
    add_passkey(acme.alice, SoftwareAuthenticator())
    add_fake_device(acme.alice)
    require(acme.agency, allowed_methods=["fake"])
    client = Client()
    sign_in(client, acme.alice)
    reauthenticate(client, acme.alice)

    page = client.get(reverse("mfa:webauthn:manage"))

    assert page.status_code == 200
    text = html(page)
    assert "Rename" in text and "Remove" in text
    assert 'id="webauthn-add"' not in text and "webauthn-creation-options" not in text
    assert "Acme Agency does not allow Passkeys and security keys. Set up Fake code." in text
