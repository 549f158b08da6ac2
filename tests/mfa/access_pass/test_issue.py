"""Settings > Manage Users > Edit > "Issue a temporary access pass": issuing, showing once, storing a hash."""
import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent, Delivery
from mfa.access_pass import flows, passes
from mfa.access_pass.models import AccessPass, Status
from tests.conftest import add_fake_device, open_after_step_up
from tests.mfa.access_pass.conftest import (
    NOT_VALID,
    admin_client,
    issue,
    issue_on_page,
    pass_url,
    shown_pass,
    sign_in_with_pass,
)


def test_issue_shows_the_pass_once_and_the_database_holds_only_its_hash(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    client = admin_client(acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        page, response = issue_on_page(client, acme.admin, acme.agency, acme.alice)
    assert page.status_code == 200 and "Issue a temporary access pass" in page.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # never kept by a browser or a proxy
    shown = shown_pass(response)
    body = response.content.decode()
    assert "This is the only time the pass is shown." in body and 'data-copy-from="access-pass"' in body

    normal = passes.normalise(shown)
    row = AccessPass.objects.get(user=acme.alice)
    assert row.lookup == passes.lookup_hash(acme.alice.pk, normal)
    # Neither form of the pass is anywhere in the database: the pass row, the audit log, the outbox.
    for model in (AccessPass, AuditEvent, Delivery):
        for values in model.objects.values():
            dumped = str(values).upper()
            assert normal not in dumped.replace("-", "") and shown not in dumped, model
    assert all(shown not in message.body and normal not in message.body for message in mail.outbox)

    # The page never shows it again: a new visit has the state and the form only.
    again = open_after_step_up(client, acme.admin, pass_url(acme.agency, acme.alice)).content.decode()
    assert shown not in again and "Active until" in again


def test_issue_is_audited_and_emailed_to_the_member(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    client = admin_client(acme.owner)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        issue_on_page(client, acme.owner, acme.agency, acme.alice, hours="8")
    row = AccessPass.objects.get(user=acme.alice)
    assert (row.status, row.lifetime_hours, row.issued_by, row.agency) == (Status.ACTIVE, 8, acme.owner, acme.agency)
    assert (row.expires_at - row.created_at).total_seconds() == 8 * 3600
    event = AuditEvent.objects.get(event_type="access_pass.issued")
    assert (event.actor, event.target_user, event.agency, event.method) == (
        acme.owner, acme.alice, acme.agency, "access_pass")
    assert event.data["lifetime_hours"] == 8 and event.data["expires_at"] == row.expires_at.isoformat()
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert "temporary access pass" in mail.outbox[0].subject
    assert "owner@acme.test" in mail.outbox[0].body and "Acme Agency" in mail.outbox[0].body


def test_a_pass_is_80_random_bits_in_four_groups():
    assert passes.entropy_bits() == 80
    made = {passes.generate() for _ in range(200)}
    assert len(made) == 200
    assert all(re.fullmatch(r"([0-9A-Z]{4}-){3}[0-9A-Z]{4}", passes.display(p)) for p in made)


def test_entry_forgives_case_spaces_dashes_and_crockford_look_alikes():
    assert passes.normalise(" 7kq2 m9xd-4hrb-t6wc\n") == "7KQ2M9XD4HRBT6WC"
    assert passes.normalise("O1IL-0000-0000-0000") == "0111000000000000"
    for bad in ("", "   ", "7KQ2-M9XD-4HRB", "7KQ2-M9XD-4HRB-T6WU", "7KQ2-M9XD-4HRB-T6WÇ", "x" * 500):
        with pytest.raises(passes.InvalidInput):
            passes.normalise(bad)


def test_issuing_a_new_pass_revokes_the_old_one(acme, client, clock, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    with django_capture_on_commit_callbacks(execute=True):
        old = issue(acme.admin, acme.alice, acme.agency)
        new = issue(acme.admin, acme.alice, acme.agency)
    rows = list(AccessPass.objects.filter(user=acme.alice).order_by("pk"))
    assert [r.status for r in rows] == [Status.REVOKED, Status.ACTIVE]
    assert rows[0].revoked_by == acme.admin
    revoked = AuditEvent.objects.get(event_type="access_pass.revoked")
    assert revoked.data["reason"] == "replaced" and revoked.data["pass_id"] == rows[0].pk
    assert AuditEvent.objects.get(event_type="access_pass.issued", data__pass_id=rows[1].pk).data["replaced"] is True
    assert "stopped working" in mail.outbox[-1].body

    response = sign_in_with_pass(client, acme.alice, old)
    assert response.status_code == 200 and NOT_VALID in response.content.decode()
    live = AccessPass.objects.get(pk=rows[1].pk)
    assert live.status == Status.ACTIVE and live.throttling_failure_count == 1  # counted against the live pass
    clock.advance(2)  # the throttle's first wait
    assert sign_in_with_pass(client, acme.alice, new).status_code == 302


@pytest.mark.parametrize("hours", ["0", "73", "-1", "2.5", "twenty", "", "99999999999999999999"])
def test_bad_lifetime_is_refused_with_a_clear_message_and_nothing_issued(acme, hours, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    client = admin_client(acme.admin)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _page, response = issue_on_page(client, acme.admin, acme.agency, acme.alice, hours=hours)
    assert response.status_code == 400
    assert "Enter a whole number of hours from 1 to 72." in response.content.decode()
    assert not AccessPass.objects.exists()
    assert not AuditEvent.objects.filter(event_type__startswith="access_pass.").exists()
    assert mail.outbox == []


@pytest.mark.parametrize("hours", [0, 73, True, "24"])
def test_the_flow_refuses_a_bad_lifetime_too(acme, hours):
    add_fake_device(acme.alice)
    with pytest.raises(flows.AccessPassError) as refused:
        issue(acme.admin, acme.alice, acme.agency, hours=hours)
    assert refused.value.error == "invalid_lifetime"
    assert not AccessPass.objects.exists()


@pytest.mark.parametrize("hours", [1, 72])
def test_lifetime_bounds_are_accepted(acme, hours):
    add_fake_device(acme.alice)
    issue(acme.admin, acme.alice, acme.agency, hours=hours)
    assert AccessPass.objects.get(user=acme.alice).lifetime_hours == hours


def test_member_without_a_method_gets_no_pass(acme):
    client = admin_client(acme.admin)
    _page, response = issue_on_page(client, acme.admin, acme.agency, acme.bob)
    assert response.status_code == 400
    assert "bob@acme.test has no two-factor method" in response.content.decode()
    assert not AccessPass.objects.exists()


def test_issue_without_step_up_changes_nothing(acme, client):
    from tests.conftest import sign_in

    add_fake_device(acme.admin)
    add_fake_device(acme.alice)
    sign_in(client, acme.admin)
    # A sign-in does not open an administrator's member pages: each visit asks.
    response = client.post(pass_url(acme.agency, acme.alice), {"lifetime_hours": "24"})
    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert not AccessPass.objects.exists()
