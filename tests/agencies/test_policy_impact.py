"""The impact preview of Parent Settings > Security: counts against a generated agency, then confirmation."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from agencies import flows, selectors
from agencies.flows import add_member, create_agency
from agencies.models import Agency, Role
from tests.agencies.policy_helpers import (
    add_members,
    agency_state,
    give_methods,
    owner_client,
    policy_form,
    policy_url,
)

# 60 active members besides the owner (who has the fake method and a passkey), and 3 inactive ones.
MIX = {(): 10, ("sms",): 15, ("totp",): 12, ("totp", "sms"): 8, ("webauthn",): 9, ("fake",): 6}
PHISHING_RESISTANT_HEADLINE = (
    "This will require 51 users to set up a new method: 10 have none, 15 use only Text Messages, "
    "12 use only Google Authenticator, 8 use only Google Authenticator and Text Messages, 6 use only Fake code."
)


@pytest.fixture
def big(make_user):
    from tests.conftest import ensure_plans

    ensure_plans()
    owner = make_user("owner@big.test", name="Aaron Owner")
    agency = create_agency(name="Big Agency", plan_code="growth", owner=owner)
    add_members(agency, MIX, prefix="member")
    add_members(agency, {(): 3}, prefix="gone", active=False)
    give_methods(owner, ["fake", "webauthn"])
    owner.preferred_mfa_method = "fake"  # step 2 asks for the test's code, not the passkey
    owner.save()
    return type("Big", (), {"agency": agency, "owner": owner, "client": owner_client(owner, with_device=False)})


def signed_in_again(big):
    """Sessions idle out after 30 minutes: after moving the clock, the Owner signs in again."""
    big.client = owner_client(big.owner, with_device=False)
    return big.client


def hidden_fields(page: str) -> list[tuple[str, str]]:
    """The (name, value) pairs the preview's form would post, as a browser reads them."""
    start = page.index('<form method="post" novalidate>')
    form = page[start:page.index("</form>", start)]
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)


def as_post(pairs: list[tuple[str, str]]) -> dict:
    data: dict = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def test_requiring_phishing_resistant_methods_previews_the_counts_and_saves_nothing(big):
    before = agency_state(big.agency)
    response = big.client.post(policy_url(big.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                   phishing_resistant_only="on"))
    assert response.status_code == 200
    page = response.content.decode()
    assert PHISHING_RESISTANT_HEADLINE in page
    assert "blocked" not in page  # a grace period: nobody is blocked yet, no tick needed
    assert page.count('class="impact-row"') == 50 and "and 1 more user" in page
    assert "gone" not in page  # inactive users are not counted
    row = page[page.index('class="impact-row"'):]
    assert "<td>" in row[: row.index("</tr>")]
    assert agency_state(big.agency) == before
    assert not AuditEvent.objects.filter(event_type=flows.TWO_FACTOR_POLICY_CHANGED).exists()


def test_the_preview_save_resubmits_the_same_values(big):
    page = big.client.post(policy_url(big.agency), policy_form(
        require_two_factor="on", grace_days="7", phishing_resistant_only="on", step_up_minutes="15",
        allow_backup_codes=None)).content.decode()
    pairs = hidden_fields(page)
    assert ("confirm", "1") in pairs and ("csrfmiddlewaretoken", pairs[0][1]) in pairs
    response = big.client.post(policy_url(big.agency), as_post(pairs))
    assert response.status_code == 302
    agency = Agency.objects.get(pk=big.agency.pk)
    assert agency.require_two_factor and agency.two_factor_grace_days == 7
    assert agency.allowed_methods == ["webauthn"] and agency.step_up_minutes == 15 and not agency.allow_backup_codes


def test_back_returns_to_the_form_with_the_values_and_saves_nothing(big):
    before = agency_state(big.agency)
    page = big.client.post(policy_url(big.agency), policy_form(require_two_factor="on", grace_days="7",
                                                               allowed_methods=["fake"])).content.decode()
    response = big.client.post(policy_url(big.agency), {**as_post(hidden_fields(page)), "back": "1"})
    assert response.status_code == 200
    form = response.content.decode()
    assert 'name="grace_days" value="7"' in form and "Review the change" not in form
    assert agency_state(big.agency) == before


def test_grace_zero_needs_the_tick_and_a_missing_tick_changes_nothing(big):
    data = policy_form(require_two_factor="on", grace_days="0", allowed_methods=["fake", "webauthn"])
    page = big.client.post(policy_url(big.agency), data).content.decode()
    # 10 with none, 15 + 12 + 8 with codes only: 45, all blocked at once.
    assert ("This will require 45 users to set up a new method: 10 have none, 15 use only Text Messages, "
            "12 use only Google Authenticator, 8 use only Google Authenticator and Text Messages.") in page
    assert "I understand 45 users will be blocked until they set up an allowed method" in page
    before = agency_state(big.agency)
    refused = big.client.post(policy_url(big.agency), {**data, "confirm": "1"})
    assert refused.status_code == 400
    assert "Tick “I understand 45 users will be blocked until they set up an allowed method” to save." in \
        refused.content.decode()
    assert agency_state(big.agency) == before
    saved = big.client.post(policy_url(big.agency), {**data, "confirm": "1", "acknowledged": "1"})
    assert saved.status_code == 302
    assert Agency.objects.get(pk=big.agency.pk).require_two_factor


def test_restricting_after_the_deadline_passed_blocks_at_once_and_needs_the_tick(big, clock):
    flows.set_two_factor_policy(None, actor=big.owner, agency=big.agency, required=True, grace_days=1)
    clock.advance(2 * 86400)
    signed_in_again(big)
    data = policy_form(require_two_factor="on", grace_days="1", allowed_methods=["totp", "fake", "webauthn"])
    page = big.client.post(policy_url(big.agency), data).content.decode()
    # Only those with Text Messages alone are newly out; those with none were blocked already.
    assert "This will require 15 users to set up a new method: 15 use only Text Messages." in page
    assert "I understand 15 users will be blocked until they set up an allowed method" in page
    assert big.client.post(policy_url(big.agency), {**data, "confirm": "1"}).status_code == 400
    assert Agency.objects.get(pk=big.agency.pk).allowed_methods == []


def test_shortening_the_grace_period_to_the_past_is_previewed_as_blocking(big, clock):
    flows.set_two_factor_policy(None, actor=big.owner, agency=big.agency, required=True, grace_days=7)
    clock.advance(2 * 86400)
    signed_in_again(big)
    page = big.client.post(policy_url(big.agency), policy_form(require_two_factor="on", grace_days="1")).content
    page = page.decode()
    assert "This will require" not in page  # nobody new must set up a method...
    assert "10 users will be blocked until they set up an allowed method." in page  # ...but those due are blocked


@pytest.mark.parametrize("changes", [
    {"allow_backup_codes": None},
    {"step_up_minutes": "30", "allow_trusted_browsers": None},
    {"allowed_methods": ["fake", "webauthn", "sms"]},  # not required: the methods bind nobody yet
])
def test_a_change_without_impact_saves_directly(big, changes):
    response = big.client.post(policy_url(big.agency), policy_form(**changes))
    assert response.status_code == 302


def test_widening_the_allowed_methods_while_required_saves_directly(big):
    flows.set_security_policy(None, actor=big.owner, agency=big.agency, confirmed=True, policy=flows.SecurityPolicy(
        required=True, grace_days=7, allowed_methods=["webauthn"]))
    response = big.client.post(policy_url(big.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                   allowed_methods=["webauthn", "fake"]))
    assert response.status_code == 302
    assert Agency.objects.get(pk=big.agency.pk).allowed_methods == ["webauthn", "fake"]


def test_the_owner_guard_comes_before_the_preview(acme):
    client = owner_client(acme.owner)  # fake method only
    response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                allowed_methods=["sms"]))
    assert response.status_code == 400
    assert "Set up an allowed method for your own account first (Text Messages)" in response.content.decode()


def test_a_member_of_two_agencies_is_judged_by_this_agencys_rule(acme, big):
    """alice uses Text Messages; another agency allowing only passkeys does not make her count here."""
    give_methods(acme.alice, ["sms"])
    add_member(agency=big.agency, user=acme.alice, role=Role.USER)
    impact = selectors.policy_impact(acme.agency, ["sms", "fake"], required=True, grace_days=7)
    # The owner, admin and bob have none (the acme owner has no method in this test).
    assert impact.must_set_up == 3 and [g.describe() for g in impact.groups] == ["3 have none"]
    impact = selectors.policy_impact(big.agency, ["webauthn"], required=True, grace_days=7)
    assert impact.must_set_up == 52  # alice joins the 15 with Text Messages only


def test_impact_costs_two_queries_whatever_the_agency_size(acme, big):
    for agency in (acme.agency, big.agency):
        with CaptureQueriesContext(connection) as queries:
            impact = selectors.policy_impact(agency, ["webauthn"], required=True, grace_days=0)
        assert impact.affected and len(queries) == 2


def test_impact_of_a_10000_member_agency_is_two_queries(make_user):
    owner = make_user("owner@huge.test")
    agency = create_agency(name="Huge Agency", plan_code="growth", owner=owner)
    add_members(agency, {(): 2500, ("sms",): 2500, ("totp", "sms"): 2500, ("webauthn",): 2500}, prefix="huge")
    with CaptureQueriesContext(connection) as queries:
        impact = selectors.policy_impact(agency, ["webauthn"], required=True, grace_days=0)
    assert len(queries) == 2
    assert impact.must_set_up == 7501 and impact.blocked == 7501 and len(impact.members) == 50  # with the owner
    assert impact.headline() == ("This will require 7501 users to set up a new method: 2501 have none, "
                                 "2500 use only Google Authenticator and Text Messages, 2500 use only Text Messages.")  # ties by name
