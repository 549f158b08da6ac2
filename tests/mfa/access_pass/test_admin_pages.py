"""The administrator's side: the role matrix, revoking, and the pass's state on the Edit page."""
import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from agencies import permissions
from agencies.flows import add_member
from agencies.models import Role
from mfa.access_pass import flows
from mfa.access_pass.models import AccessPass, Status
from tests.conftest import add_fake_device, open_after_step_up, sign_in
from tests.mfa.access_pass.conftest import (
    admin_client,
    flow_request,
    issue,
    issue_on_page,
    pass_url,
    revoke_url,
    shown_pass,
    sign_in_with_pass,
)
from tests.mfa.access_pass.conftest import start_sign_in as start_password_step

# (actor, target, allowed): the resets' rules, inside Acme.
ROLE_MATRIX = [
    ("owner", "admin", True),
    ("owner", "alice", True),
    ("admin", "alice", True),
    ("admin", "owner", False),
    ("admin", "other_admin", False),
    ("alice", "bob", False),
    ("alice", "admin", False),
    ("alice", "owner", False),
    ("owner", "owner", False),  # oneself: the Profile is where one's own methods are managed
    ("admin", "admin", False),
]


@pytest.fixture
def people(acme, make_user):
    other_admin = make_user("admin2@acme.test", name="Other Admin")
    add_member(agency=acme.agency, user=other_admin, role=Role.ADMIN)
    acme.other_admin = other_admin
    return acme


@pytest.mark.parametrize(("actor_name", "target_name", "allowed"), ROLE_MATRIX)
def test_issue_and_revoke_follow_the_role_rules(people, actor_name, target_name, allowed):
    actor, target = getattr(people, actor_name), getattr(people, target_name)
    client = admin_client(actor)
    if target is not actor:  # admin_client gave the actor a method already
        add_fake_device(target)
    page, response = issue_on_page(client, actor, people.agency, target)
    revoke = client.post(revoke_url(people.agency, target))
    if allowed:
        assert page.status_code == 200 and response.status_code == 200
        shown_pass(response)
        assert revoke.status_code == 302
        assert AccessPass.objects.get(user=target).status == Status.REVOKED
    else:
        assert (page.status_code, response.status_code, revoke.status_code) == (404, 404, 404)
        assert not AccessPass.objects.exists()
        assert not AuditEvent.objects.filter(event_type__startswith="access_pass.").exists()


def test_a_forged_member_id_from_another_agency_is_404_and_nothing_issued(acme, solo):
    add_fake_device(solo.owner)
    add_fake_device(acme.alice)
    client = admin_client(acme.owner)
    # Solo's owner through Acme's URL, and Acme's alice through Solo's URL.
    for agency, member in ((acme.agency, solo.owner), (solo.agency, acme.alice)):
        assert open_after_step_up(client, acme.owner, pass_url(agency, member)).status_code == 404
        assert client.post(pass_url(agency, member), {"lifetime_hours": "24"}).status_code == 404
        assert client.post(revoke_url(agency, member)).status_code == 404
    assert not AccessPass.objects.exists()


def test_the_flow_checks_the_role_again(acme, solo):
    add_fake_device(acme.owner)
    add_fake_device(solo.owner)
    for actor, target, agency in ((acme.admin, acme.owner, acme.agency), (acme.owner, solo.owner, acme.agency)):
        with pytest.raises(PermissionDenied):
            flows.issue_pass(flow_request(actor), actor=actor, target=target, agency=agency, lifetime_hours=24,
                             may_manage=permissions.can_manage_user)
        with pytest.raises(PermissionDenied):
            flows.revoke_pass(flow_request(actor), actor=actor, target=target, agency=agency,
                              may_manage=permissions.can_manage_user)
    assert not AccessPass.objects.exists()


def test_revoke_stops_the_pass_audits_and_emails(acme, client, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency)
    admin = admin_client(acme.admin)
    open_after_step_up(admin, acme.admin, pass_url(acme.agency, acme.alice))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(revoke_url(acme.agency, acme.alice), follow=True)
    assert "The temporary access pass of alice@acme.test was revoked." in response.content.decode()
    row = AccessPass.objects.get(user=acme.alice)
    assert (row.status, row.revoked_by) == (Status.REVOKED, acme.admin)
    event = AuditEvent.objects.get(event_type="access_pass.revoked")
    assert (event.actor, event.target_user, event.agency, event.data["reason"]) == (
        acme.admin, acme.alice, acme.agency, "revoked")
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]] and "revoked" in mail.outbox[0].subject

    # Alice's step 2 no longer offers the pass, and a posted pass is refused.
    step_two = start_password_step(client, acme.alice)
    page = client.get(step_two.url).content.decode()
    assert "Use a temporary access pass" not in page
    response = client.post(reverse("accounts:login_verify"), {"method": "access_pass", "code": code})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_revoke_with_no_live_pass_changes_nothing(acme):
    add_fake_device(acme.alice)
    admin = admin_client(acme.admin)
    open_after_step_up(admin, acme.admin, pass_url(acme.agency, acme.alice))
    response = admin.post(revoke_url(acme.agency, acme.alice), follow=True)
    assert "has no temporary access pass that works; nothing changed." in response.content.decode()
    assert not AuditEvent.objects.filter(event_type="access_pass.revoked").exists()


def test_revoke_without_step_up_changes_nothing(acme, client):
    add_fake_device(acme.alice)
    issue(acme.admin, acme.alice, acme.agency)
    add_fake_device(acme.admin)
    sign_in(client, acme.admin)
    response = client.post(revoke_url(acme.agency, acme.alice))
    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert AccessPass.objects.get(user=acme.alice).status == Status.ACTIVE


def test_the_edit_page_shows_each_state_and_recommends_the_pass(acme, client, clock):
    add_fake_device(acme.alice)
    admin = admin_client(acme.admin)
    edit = reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])

    def state() -> str:
        page = admin.get(edit).content.decode()
        assert "Issue a temporary access pass" in page and "ahead of reading out their backup codes" in page
        assert page.index("Temporary access pass") < page.index("Multi-Factor Methods")
        return page

    assert "No temporary access pass has been issued." in state()
    code = issue(acme.admin, acme.alice, acme.agency)
    page = state()
    assert "Active until" in page and ">Revoke</button>" in page and "Issued by admin@acme.test" in page
    sign_in_with_pass(client, acme.alice, code)
    page = state()
    assert "Used " in page and ">Revoke</button>" not in page
    issue(acme.admin, acme.alice, acme.agency, hours=1)
    clock.advance(3601)
    admin = Client()  # the administrator's session has timed out meanwhile
    sign_in(admin, acme.admin)
    assert "Expired unused" in state()  # before the sweep has run, too
    issue(acme.admin, acme.alice, acme.agency)
    flows.revoke_pass(flow_request(acme.admin), actor=acme.admin, target=acme.alice, agency=acme.agency,
                      may_manage=permissions.can_manage_user)
    assert "Revoked " in state()
