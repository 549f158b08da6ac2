"""Edit user > Backup Codes > Add/Edit: "View Backup Codes" and "Generate Backup Codes"."""
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from mfa.backup_codes import flows as backup_flows
from mfa.backup_codes.models import BackupCodeSet
from tests.agencies.test_member_reset import ROLE_MATRIX, admin_client
from tests.conftest import add_fake_device, open_after_step_up
from tests.mfa.backup_codes.conftest import set_up_codes


def urls(agency, member) -> dict[str, str]:
    args = [agency.pk, member.pk]
    return {
        "manage": reverse("agencies:member_backup_codes", args=args),
        "reveal": reverse("agencies:member_backup_codes_reveal", args=args),
        "generate": reverse("agencies:member_backup_codes_generate", args=args),
    }


def test_admin_views_users_codes_with_used_state_audited_and_emailed(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.bob)
    codes = set_up_codes(acme.bob)
    client = admin_client(acme.admin)
    page = open_after_step_up(client, acme.admin, urls(acme.agency, acme.bob)["manage"]).content.decode()
    assert "View Backup Codes" in page and "Generate Backup Codes" in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        shown = client.post(urls(acme.agency, acme.bob)["reveal"]).content.decode()
    assert all(code in shown for code in codes)
    event = AuditEvent.objects.get(event_type=backup_flows.VIEWED, actor=acme.admin)
    assert event.target_user == acme.bob and event.agency == acme.agency
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]
    assert "admin@acme.test" in mail.outbox[0].body


def test_reveal_by_get_shows_nothing_and_records_nothing(acme):
    add_fake_device(acme.bob)
    codes = set_up_codes(acme.bob)
    client = admin_client(acme.admin)
    response = open_after_step_up(client, acme.admin, urls(acme.agency, acme.bob)["manage"])
    assert response.status_code == 200
    response = client.get(urls(acme.agency, acme.bob)["reveal"])
    assert response.status_code == 302 and codes[0] not in response.content.decode()
    assert not AuditEvent.objects.filter(event_type=backup_flows.VIEWED).exists()


def test_admin_generates_codes_for_user_old_set_stops_working(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.bob)
    old_codes = set_up_codes(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, urls(acme.agency, acme.bob)["manage"])
    mail.outbox.clear()
    asked = client.post(urls(acme.agency, acme.bob)["generate"]).content.decode()
    assert "Continue?" in asked  # a set in use is replaced only once confirmed (test_safer_admin_actions)
    replacing = backup_flows.set_version(BackupCodeSet.objects.get(user=acme.bob))
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(urls(acme.agency, acme.bob)["generate"],
                           {"confirm": "1", "replacing": replacing}).content.decode()
    assert "A new set was generated" in page
    assert not any(code in page for code in old_codes)
    assert mail.outbox and mail.outbox[0].to == ["bob@acme.test"]
    from tests.mfa.backup_codes.conftest import sign_in_with_backup_code

    refused = sign_in_with_backup_code(Client(), acme.bob, old_codes[0])
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session


def test_generate_refused_when_user_has_no_primary_method(acme):
    client = admin_client(acme.owner)
    page = open_after_step_up(client, acme.owner, urls(acme.agency, acme.bob)["manage"]).content.decode()
    assert "Generate Backup Codes" not in page and "once the user has Google Authenticator" in page
    response = client.post(urls(acme.agency, acme.bob)["generate"], follow=True)
    assert not BackupCodeSet.objects.filter(user=acme.bob, confirmed=True).exists()
    assert response.status_code == 200


@pytest.mark.parametrize(("actor_name", "target_name", "allowed"), ROLE_MATRIX)
def test_backup_codes_permission_matrix(acme, actor_name, target_name, allowed):
    actor, target = getattr(acme, actor_name), getattr(acme, target_name)
    client = admin_client(actor)
    if not BackupCodeSet.objects.filter(user=target).exists():
        if not target.fakedevice_set.exists():
            add_fake_device(target)
        set_up_codes(target)
    responses = [open_after_step_up(client, actor, urls(acme.agency, target)["manage"]),
                 client.post(urls(acme.agency, target)["reveal"]),
                 client.post(urls(acme.agency, target)["generate"])]
    if allowed:
        assert [r.status_code for r in responses] == [200, 200, 200]
    else:
        assert [r.status_code for r in responses] == [404, 404, 404]
        assert not AuditEvent.objects.filter(event_type=backup_flows.VIEWED, actor=actor).exists()


def test_backup_codes_of_other_agency_user_is_404(acme, solo):
    add_fake_device(solo.owner)
    set_up_codes(solo.owner)
    client = admin_client(acme.owner)
    assert open_after_step_up(client, acme.owner, urls(acme.agency, solo.owner)["manage"]).status_code == 404
    assert client.post(urls(acme.agency, solo.owner)["reveal"]).status_code == 404


def test_reveal_without_reauthentication_shows_nothing(client, acme):
    from tests.conftest import sign_in

    add_fake_device(acme.owner)
    add_fake_device(acme.bob)
    codes = set_up_codes(acme.bob)
    sign_in(client, acme.owner)
    response = client.post(urls(acme.agency, acme.bob)["reveal"])
    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert codes[0] not in response.content.decode()
    assert not AuditEvent.objects.filter(event_type=backup_flows.VIEWED).exists()


def test_edit_page_links_backup_codes_add_edit(acme):
    add_fake_device(acme.bob)
    client = admin_client(acme.owner)
    page = client.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.bob.pk])).content.decode()
    row = page[page.index('data-method="backup_codes"'):]
    assert urls(acme.agency, acme.bob)["manage"] in row[: row.index("</tr>")]
