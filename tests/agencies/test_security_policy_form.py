"""Settings > Parent Settings > Security: every field, refusals that change nothing, who may open it."""
import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from agencies import flows
from agencies.models import Agency
from agencies.policy import requirement_for
from ctm_auth.dates import format_day
from tests.agencies.policy_helpers import (
    ALL_METHODS,
    agency_state,
    give_methods,
    owner_client,
    policy_form,
    policy_url,
)

AUDIT_KEYS = {"required", "grace_days", "allowed_methods", "allow_backup_codes", "allow_trusted_browsers",
              "trusted_browser_days", "step_up_minutes"}
SHORTCUT = "Require phishing-resistant methods (passkeys and security keys only)"


def test_page_offers_every_setting_with_its_current_value(acme):
    page = owner_client(acme.owner).get(policy_url(acme.agency)).content.decode()
    for label in ("Require two-factor authentication for all users across subaccounts", "Grace period (days)",
                  "Allowed methods", "Text Messages", "Google Authenticator", "Passkeys and security keys",
                  "Fake code", SHORTCUT, "Allow backup codes as recovery", "Trusted browsers",
                  "Longest a browser stays trusted (days)", "Step-up window (minutes)"):
        assert label in page, label
    for key in ALL_METHODS:
        assert f'name="allowed_methods" value="{key}"' in page
    assert 'name="step_up_minutes" value="10"' in page and 'name="trusted_browser_days" value="30"' in page
    assert page.count('name="allowed_methods"') == 4 and page.count("checked") >= 6  # 4 methods, codes, browsers


def test_owner_saves_every_field_audited_before_and_after(acme):
    client = owner_client(acme.owner)
    before = agency_state(acme.agency)
    response = client.post(policy_url(acme.agency), policy_form(
        allowed_methods=["totp", "webauthn"], allow_backup_codes=None, allow_trusted_browsers=None,
        trusted_browser_days="7", step_up_minutes="30", grace_days="5"))
    assert response.status_code == 302 and response.url == policy_url(acme.agency)
    agency = Agency.objects.get(pk=acme.agency.pk)
    assert agency.allowed_methods == ["totp", "webauthn"]
    assert not agency.allow_backup_codes and not agency.allow_trusted_browsers
    assert agency.trusted_browser_days == 7 and agency.step_up_minutes == 30
    assert not agency.require_two_factor and agency.two_factor_grace_days == 0  # not required: no grace kept
    event = AuditEvent.objects.get(event_type=flows.TWO_FACTOR_POLICY_CHANGED)
    assert event.actor == acme.owner and event.agency_id == acme.agency.pk
    assert set(event.data) == {"before", "after"}
    assert set(event.data["before"]) == AUDIT_KEYS == set(event.data["after"])
    assert event.data["before"] == {"required": False, "grace_days": 0, "allowed_methods": [],
                                    "allow_backup_codes": True, "allow_trusted_browsers": True,
                                    "trusted_browser_days": 30, "step_up_minutes": 10}
    assert event.data["after"] == {"required": False, "grace_days": 0, "allowed_methods": ["totp", "webauthn"],
                                   "allow_backup_codes": False, "allow_trusted_browsers": False,
                                   "trusted_browser_days": 7, "step_up_minutes": 30}
    assert before["allowed_methods"] == []
    page = client.get(policy_url(acme.agency)).content.decode()
    assert 'name="step_up_minutes" value="30"' in page and 'name="trusted_browser_days" value="7"' in page


def test_every_method_ticked_is_stored_as_any(acme):
    client = owner_client(acme.owner)
    client.post(policy_url(acme.agency), policy_form(allowed_methods=["totp"]))
    assert Agency.objects.get(pk=acme.agency.pk).allowed_methods == ["totp"]
    assert client.post(policy_url(acme.agency), policy_form(allowed_methods=ALL_METHODS[::-1])).status_code == 302
    assert Agency.objects.get(pk=acme.agency.pk).allowed_methods == []


def test_phishing_resistant_shortcut_wins_over_the_boxes(acme):
    client = owner_client(acme.owner)
    response = client.post(policy_url(acme.agency), policy_form(allowed_methods=["sms", "totp"],
                                                                phishing_resistant_only="on"))
    assert response.status_code == 302
    assert Agency.objects.get(pk=acme.agency.pk).allowed_methods == ["webauthn"]
    page = client.get(policy_url(acme.agency)).content.decode()
    shortcut = page[page.index('name="phishing_resistant_only"') - 80:page.index(SHORTCUT)]
    assert "checked" in shortcut
    assert 'value="webauthn"' in page and page.count('name="allowed_methods"') == 4


def test_settings_bind_members_of_the_agency(acme):
    """Trusted browsers and the step-up window bind at once; allowed methods while required."""
    give_methods(acme.bob, ["sms"])
    client = owner_client(acme.owner)
    client.post(policy_url(acme.agency), policy_form(allow_trusted_browsers=None, step_up_minutes="5",
                                                     allowed_methods=["fake"]))
    bob = requirement_for(acme.bob)
    assert bob.trusted_browser_days == 0 and bob.step_up_minutes == 5 and not bob.required


@pytest.mark.parametrize("changes, message", [
    ({"allowed_methods": None}, "Choose at least one method"),
    ({"allowed_methods": []}, "Choose at least one method"),
    ({"allowed_methods": ["email"]}, "Select a valid choice"),
    ({"trusted_browser_days": "0"}, "Enter a whole number of days from 1 to 30."),
    ({"trusted_browser_days": "31"}, "Enter a whole number of days from 1 to 30."),
    ({"trusted_browser_days": "seven"}, "Enter a whole number of days from 1 to 30."),
    ({"trusted_browser_days": ""}, "Enter a whole number of days from 1 to 30."),
    ({"step_up_minutes": "4"}, "Enter a whole number of minutes from 5 to 60."),
    ({"step_up_minutes": "61"}, "Enter a whole number of minutes from 5 to 60."),
    ({"step_up_minutes": "10.5"}, "Enter a whole number of minutes from 5 to 60."),
    ({"grace_days": "-1"}, "Enter a whole number of days from 0 to 30."),
    ({"grace_days": "31"}, "Enter a whole number of days from 0 to 30."),
    ({"grace_days": "1e3"}, "Enter a whole number of days from 0 to 30."),
])
def test_bad_input_is_refused_and_changes_nothing(acme, changes, message):
    client = owner_client(acme.owner)
    before = agency_state(acme.agency)
    data = {"require_two_factor": "on", "grace_days": "3", "allow_backup_codes": None, "step_up_minutes": "20",
            **changes}
    response = client.post(policy_url(acme.agency), policy_form(**data))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert agency_state(acme.agency) == before
    assert not AuditEvent.objects.filter(event_type=flows.TWO_FACTOR_POLICY_CHANGED).exists()


@pytest.mark.parametrize("who", ["admin", "alice"])
def test_admin_and_user_get_404(acme, who):
    member = getattr(acme, who)
    client = owner_client(member)
    before = agency_state(acme.agency)
    assert client.get(policy_url(acme.agency)).status_code == 404
    assert client.post(policy_url(acme.agency), policy_form(step_up_minutes="30")).status_code == 404
    assert agency_state(acme.agency) == before


def test_plan_not_eligible_shows_the_plan_note_and_refuses_any_change(solo):
    client = owner_client(solo.owner)
    page = client.get(policy_url(solo.agency)).content.decode()
    assert "included in the Growth and Connect plans" in page and 'name="step_up_minutes"' not in page
    before = agency_state(solo.agency)
    response = client.post(policy_url(solo.agency), policy_form(step_up_minutes="30", allowed_methods=["fake"]))
    assert response.status_code == 400
    assert "Your plan does not include requiring two-factor authentication." in response.content.decode()
    assert agency_state(solo.agency) == before


def test_owner_without_an_allowed_method_is_refused_with_links_to_set_up(acme):
    client = owner_client(acme.owner)  # the owner has the fake method only
    before = agency_state(acme.agency)
    response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                phishing_resistant_only="on", confirm="1"))
    assert response.status_code == 400
    page = response.content.decode()
    assert ("Set up an allowed method for your own account first (Passkeys and security keys), before requiring it "
            "for everyone.") in page
    assert f'href="{reverse("mfa:webauthn:manage")}"' in page
    assert f'href="{reverse("accounts:profile")}#multi-factor-methods"' in page
    assert "&lt;a" not in page  # the link is the template's, not markup in the message
    assert agency_state(acme.agency) == before


def test_owner_with_an_allowed_method_may_require_it(acme):
    client = owner_client(acme.owner)
    give_methods(acme.owner, ["webauthn"])  # after signing in: step 2 would offer the passkey first
    response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                phishing_resistant_only="on", confirm="1"))
    assert response.status_code == 302
    agency = Agency.objects.get(pk=acme.agency.pk)
    assert agency.require_two_factor and agency.allowed_methods == ["webauthn"]


def test_restricting_methods_while_required_emails_those_who_newly_need_one(acme, django_capture_on_commit_callbacks):
    give_methods(acme.alice, ["fake"])
    give_methods(acme.bob, ["sms"])
    client = owner_client(acme.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7", confirm="1"))
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                    allowed_methods=["fake", "totp"], confirm="1"))
    assert response.status_code == 302
    # bob had Text Messages, now not allowed; admin had nothing (told already); alice's method stays allowed.
    assert [m.to[0] for m in mail.outbox] == ["bob@acme.test"]
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "Acme Agency now requires two-factor authentication"
    assert "Allowed methods: Google Authenticator or Fake code." in body
    assert reverse("accounts:two_factor_required") in body
    assert requirement_for(acme.bob).in_grace_period() and not requirement_for(acme.alice).in_grace_period()


def test_turning_on_emails_members_without_an_allowed_method_naming_them(acme, django_capture_on_commit_callbacks):
    give_methods(acme.alice, ["sms"])
    give_methods(acme.bob, ["fake"])
    client = owner_client(acme.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                         allowed_methods=["fake"], confirm="1"))
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "alice@acme.test"]
    assert "Allowed methods: Fake code." in mail.outbox[0].body
    deadline = Agency.objects.get(pk=acme.agency.pk).two_factor_deadline
    assert f"Please set it up before {format_day(deadline)}." in mail.outbox[0].body
