"""Settings > Parent Settings > Security: "Require two-factor authentication"."""
import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.delivery.queues import InlineQueue
from accounts.models import AuditEvent, Delivery
from agencies import flows
from agencies.flows import add_member
from agencies.models import Agency, Role
from mfa.policy import disable_refusal
from tests.agencies.policy_helpers import policy_form
from tests.conftest import add_fake_device, let_step_up_window_pass, reauthenticate, sign_in
from tests.urlwalk import resolvable, walk

POLICY_FIELD = "Require two-factor authentication for all users across subaccounts"


def policy_url(agency) -> str:
    return reverse("agencies:security_policy", args=[agency.pk])


def owner_client(owner) -> Client:
    client = Client()
    add_fake_device(owner)
    assert sign_in(client, owner).status_code == 302
    assert reauthenticate(client, owner).status_code == 302
    return client


def turn_on(agency, owner, grace_days: int = 0):
    return flows.set_two_factor_policy(None, actor=owner, agency=agency, required=True, grace_days=grace_days)


def test_owner_turns_policy_on_audited_and_users_without_method_emailed(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    client = owner_client(acme.owner)
    assert POLICY_FIELD in client.get(policy_url(acme.agency)).content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                    confirm="1"))
    assert response.status_code == 302
    acme.agency.refresh_from_db()
    assert acme.agency.require_two_factor and acme.agency.two_factor_grace_days == 7
    event = AuditEvent.objects.get(event_type=flows.TWO_FACTOR_POLICY_CHANGED)
    assert event.actor == acme.owner
    assert event.data["before"]["required"] is False and event.data["after"]["required"] is True
    # Emailed: the members without a method (admin, bob); not alice nor the owner.
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "bob@acme.test"]
    assert "requires two-factor authentication" in mail.outbox[0].subject


def test_policy_announcement_is_one_outbox_row_per_member_sent_in_batches(
        acme, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.AGENCIES_POLICY_EMAIL_BATCH_SIZE = 2
    batches = []
    real_dispatch = InlineQueue.dispatch
    monkeypatch.setattr(InlineQueue, "dispatch",
                        lambda self, ids, eta=None: batches.append(len(ids)) or real_dispatch(self, ids, eta=eta))
    add_fake_device(acme.owner)
    with django_capture_on_commit_callbacks(execute=True):
        turn_on(acme.agency, acme.owner)
    rows = Delivery.objects.filter(kind="agencies/email/policy_on")
    assert sorted(rows.values_list("to", flat=True)) == ["admin@acme.test", "alice@acme.test", "bob@acme.test"]
    assert set(rows.values_list("state", flat=True)) == {"sent"}
    assert sorted(batches) == [1, 2] and len(mail.outbox) == 3


def test_admin_cannot_open_or_change_the_policy(acme):
    client = owner_client(acme.admin)
    assert client.get(policy_url(acme.agency)).status_code == 404
    assert client.post(policy_url(acme.agency), {"require_two_factor": "on", "grace_days": "0"}).status_code == 404
    assert not Agency.objects.get(pk=acme.agency.pk).require_two_factor


def test_starter_plan_shows_setting_disabled_and_refuses_forged_post(solo):
    client = owner_client(solo.owner)
    page = client.get(policy_url(solo.agency)).content.decode()
    assert 'id="id_require_two_factor" disabled' in page
    assert "included in the Growth and Connect plans" in page
    response = client.post(policy_url(solo.agency), {"require_two_factor": "on", "grace_days": "0"})
    assert response.status_code == 400
    assert "does not include requiring two-factor" in response.content.decode()
    assert not Agency.objects.get(pk=solo.agency.pk).require_two_factor


def test_owner_without_two_factor_cannot_turn_it_on(acme):
    client = Client()
    sign_in(client, acme.owner, code=None)
    reauthenticate(client, acme.owner)
    response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Turn on two-factor authentication for your own account first" in page
    assert f'href="{reverse("accounts:profile")}#multi-factor-methods"' in page
    assert not Agency.objects.get(pk=acme.agency.pk).require_two_factor


@pytest.mark.parametrize("grace", ["-1", "31", "abc", ""])
def test_bad_grace_period_refused_without_change(acme, grace):
    client = owner_client(acme.owner)
    response = client.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days=grace))
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert not Agency.objects.get(pk=acme.agency.pk).require_two_factor


def test_policy_post_without_reauthentication_changes_nothing(client, acme):
    add_fake_device(acme.owner)
    sign_in(client, acme.owner)
    let_step_up_window_pass()
    response = client.post(policy_url(acme.agency), {"require_two_factor": "on", "grace_days": "0"})
    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert not Agency.objects.get(pk=acme.agency.pk).require_two_factor


def test_user_without_method_is_sent_to_set_up_on_every_url(acme):
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner)
    client = Client()
    response = sign_in(client, acme.bob, code=None)
    assert response.status_code == 302
    landing = client.get(response.url)
    assert landing.status_code == 302 and landing.url == reverse("accounts:two_factor_required")
    page = client.get(reverse("accounts:two_factor_required")).content.decode()
    assert "Set up two-factor authentication" in page and "requires two-factor" in page

    allowed_names = {"accounts:logout", "accounts:reauthenticate", "accounts:two_factor_required",
                     "accounts:login_verify", "sms_delivery_status"}  # the code pages' "Sending…/Sent" status
    urls, problems = resolvable(walk())
    assert not problems, problems
    checked = 0
    for url in urls:
        if url.name in allowed_names or (url.namespaces and url.namespaces[0] == "mfa"):
            continue
        response = client.get(url.path)
        assert response.status_code == 302 and response.url == reverse("accounts:two_factor_required"), url.label()
        checked += 1
    assert checked > 10  # the admin, settings, profile, ... were all walked


def test_django_admin_is_covered_by_the_policy(acme, make_user):
    staff = make_user("staff@acme.test")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    add_member(agency=acme.agency, user=staff, role=Role.USER)
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner)
    client = Client()
    sign_in(client, staff, code=None)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url == reverse("accounts:two_factor_required")


def test_compliant_user_is_not_redirected(acme):
    add_fake_device(acme.owner)
    add_fake_device(acme.alice)
    turn_on(acme.agency, acme.owner)
    client = Client()
    sign_in(client, acme.alice)
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_grace_period_shows_banner_then_forces_set_up(acme, clock):
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner, grace_days=3)
    client = Client()
    sign_in(client, acme.bob, code=None)
    page = client.get(reverse("accounts:profile"))
    assert page.status_code == 200
    assert "(3 days left)" in page.content.decode()
    # Sessions idle out after 30 minutes, so each later visit is a new sign-in.
    clock.advance(2 * 86400 + 60)
    client = Client()
    sign_in(client, acme.bob, code=None)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "(1 day left)." in page
    clock.advance(86400)
    client = Client()
    response = sign_in(client, acme.bob, code=None)
    assert client.get(response.url).url == reverse("accounts:two_factor_required")


def test_user_in_several_agencies_is_bound_if_any_requires(acme, solo):
    add_member(agency=solo.agency, user=acme.bob, role=Role.USER)
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner)
    client = Client()
    sign_in(client, acme.bob, code=None)
    assert client.get(reverse("accounts:profile")).url == reverse("accounts:two_factor_required")


def test_policy_stops_applying_when_the_plan_loses_the_capability(acme):
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner)
    acme.agency.plan.allows_required_two_factor = False
    acme.agency.plan.save()
    client = Client()
    sign_in(client, acme.bob, code=None)
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_disabling_own_last_primary_method_is_refused_under_policy(acme):
    add_fake_device(acme.owner)
    add_fake_device(acme.alice)
    assert disable_refusal(acme.alice, "fake") is None
    turn_on(acme.agency, acme.owner)
    refusal = disable_refusal(acme.alice, "fake")
    assert refusal and "requires two-factor authentication" in refusal


def test_admin_reset_forces_re_enrolment_at_next_sign_in(acme):
    add_fake_device(acme.owner)
    add_fake_device(acme.alice)
    turn_on(acme.agency, acme.owner)
    from mfa.registry import get_method

    assert flows.reset_member_method(None, actor=acme.owner, agency=acme.agency, target=acme.alice,
                                     method=get_method("fake"))
    client = Client()
    response = sign_in(client, acme.alice, code=None)
    assert client.get(response.url).url == reverse("accounts:two_factor_required")


def test_enrolling_a_method_lifts_the_redirect_at_once(acme):
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner)
    client = Client()
    sign_in(client, acme.bob, code=None)
    assert client.get(reverse("accounts:profile")).status_code == 302
    add_fake_device(acme.bob)  # read with the user at the next request; the cached rule is the agency's
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_a_method_removed_while_the_rule_is_cached_is_enforced_at_the_next_request(acme):
    """Another server may store the agency's rule after a removal; compliance is still read fresh."""
    from tests.fake_method.models import FakeDevice

    add_fake_device(acme.owner)
    add_fake_device(acme.alice)
    turn_on(acme.agency, acme.owner)
    client = Client()
    assert sign_in(client, acme.alice).status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200  # the rule is cached now

    # A bulk delete sends no signal and forgets nothing, as a racing server's late store would leave it.
    FakeDevice.objects.filter(user=acme.alice)._raw_delete(FakeDevice.objects.db)

    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url == reverse("accounts:two_factor_required")


def test_policy_middleware_costs_one_query_uncached_and_none_cached(acme):
    from django.core.cache import cache

    add_fake_device(acme.owner)
    add_fake_device(acme.alice)
    turn_on(acme.agency, acme.owner)
    client = Client()
    sign_in(client, acme.alice)
    url = reverse("accounts:two_factor_required")  # a page with few queries of its own
    client.get(url)
    with CaptureQueriesContext(connection) as cached:
        client.get(url)
    cache.clear()
    # The cache also held the session's copy (read from the database once more).
    with CaptureQueriesContext(connection) as uncached:
        client.get(url)
    # One query (agencies.memberships) computes the policy, the zone and the menu.
    is_memberships_query = lambda sql: '"agencies_agency"."step_up_minutes"' in sql  # noqa: E731
    assert [is_memberships_query(q["sql"]) for q in uncached].count(True) == 1
    assert not [q for q in cached if is_memberships_query(q["sql"])]
    assert len(uncached) - len(cached) == 2


def test_turning_policy_off_is_audited_and_lifts_enforcement(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.owner)
    turn_on(acme.agency, acme.owner)
    with django_capture_on_commit_callbacks(execute=True):
        flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=False, grace_days=0)
    assert AuditEvent.objects.filter(event_type=flows.TWO_FACTOR_POLICY_CHANGED, data__after__required=False,
                                     data__before__required=True).exists()
    client = Client()
    sign_in(client, acme.bob, code=None)
    assert client.get(reverse("accounts:profile")).status_code == 200
