"""Services the agency issue's "View Backup Codes" for a user will call (no admin views here)."""
import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent
from mfa.backup_codes import flows
from mfa.backup_codes.models import BackupCodeSet
from tests.conftest import add_fake_device
from tests.mfa.backup_codes.conftest import CLIENT_IP, flow_request, set_up_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_codes(acme) -> list[str]:
    add_fake_device(acme.alice)
    return set_up_codes(acme.alice)


def test_admin_views_a_users_codes_audited_with_actor_and_emailed(acme, alice_codes,
                                                                 django_capture_on_commit_callbacks):
    BackupCodeSet.objects.get(user=acme.alice).consume(alice_codes[0].replace("-", ""))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        view = flows.codes_for_admin_view(flow_request(acme.admin), actor=acme.admin, target=acme.alice)
    assert [row.code for row in view.rows] == alice_codes
    assert [row.is_used for row in view.rows] == [True] + [False] * 9
    assert view.remaining == 9
    event = AuditEvent.objects.get(event_type=flows.VIEWED)
    assert (event.actor, event.target_user, event.agency) == (acme.admin, acme.alice, acme.agency)
    assert event.data == {"via": "admin"} and event.ip_address == CLIENT_IP
    [email] = mail.outbox
    assert email.to == ["alice@acme.test"]
    assert email.subject == "An administrator viewed your CallTrackingMetrics backup codes"
    assert "Adam Admin (admin@acme.test)" in email.body and "Acme Agency" in email.body
    assert CLIENT_IP in email.body
    assert not any(code in email.body for code in alice_codes)


def test_owner_may_view_an_administrators_codes(acme):
    add_fake_device(acme.admin)
    codes = set_up_codes(acme.admin)
    view = flows.codes_for_admin_view(flow_request(acme.owner), actor=acme.owner, target=acme.admin,
                                      agency=acme.agency)
    assert [row.code for row in view.rows] == codes


@pytest.mark.parametrize("actor_name, target_name", [
    ("alice", "bob"),      # a User manages nobody
    ("admin", "owner"),    # an Administrator does not manage the Owner
    ("alice", "alice"),    # one's own codes go through the Profile and step-up, not this service
])
def test_view_refused_without_the_right_to_manage_the_user(acme, actor_name, target_name):
    target = getattr(acme, target_name)
    add_fake_device(target)
    set_up_codes(target)
    with pytest.raises(PermissionDenied):
        flows.codes_for_admin_view(flow_request(), actor=getattr(acme, actor_name), target=target)
    assert not AuditEvent.objects.filter(event_type=flows.VIEWED).exists()


def test_view_refused_across_agencies(acme, solo, alice_codes):
    with pytest.raises(PermissionDenied):
        flows.codes_for_admin_view(flow_request(), actor=solo.owner, target=acme.alice)
    with pytest.raises(PermissionDenied):
        flows.codes_for_admin_view(flow_request(), actor=solo.owner, target=acme.alice, agency=solo.agency)


def test_view_of_a_user_without_codes_returns_none_and_emails_nobody(acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert flows.codes_for_admin_view(flow_request(), actor=acme.admin, target=acme.bob) is None
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(event_type=flows.VIEWED).exists()


def test_admin_generates_codes_for_a_user_ready_to_use(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.bob)
    with django_capture_on_commit_callbacks(execute=True):
        view = flows.generate_for_user(flow_request(acme.admin), actor=acme.admin, target=acme.bob)
    assert len(view.rows) == 10 and view.remaining == 10
    result = flows.verify_code(flow_request(), user=acme.bob, code=view.rows[0].code, purpose="sign_in")
    assert result.ok
    event = AuditEvent.objects.get(event_type=flows.GENERATED)
    assert (event.actor, event.target_user, event.agency) == (acme.admin, acme.bob, acme.agency)
    assert event.data == {"count": 10, "by_admin": True}
    [email] = [m for m in mail.outbox if m.subject.startswith("An administrator")]
    assert email.to == ["bob@acme.test"]
    assert "Adam Admin (admin@acme.test)" in email.body


def test_admin_generate_replaces_a_users_set(acme, alice_codes):
    view = flows.generate_for_user(flow_request(acme.admin), actor=acme.admin, target=acme.alice)
    assert not {row.code for row in view.rows} & set(alice_codes)
    result = flows.verify_code(flow_request(), user=acme.alice, code=alice_codes[0], purpose="sign_in")
    assert result.error == "replaced"
    assert AuditEvent.objects.get(event_type=flows.REGENERATED).actor == acme.admin


def test_admin_generate_refused_without_a_primary_method(acme):
    with pytest.raises(flows.BackupCodesError) as refused:
        flows.generate_for_user(flow_request(acme.admin), actor=acme.admin, target=acme.bob)
    assert refused.value.error == "no_primary_method"
    assert not BackupCodeSet.objects.exists()


def test_admin_generate_refused_for_a_user_not_managed(acme):
    add_fake_device(acme.owner)
    with pytest.raises(PermissionDenied):
        flows.generate_for_user(flow_request(acme.admin), actor=acme.admin, target=acme.owner)
    assert not BackupCodeSet.objects.exists()
