"""Expiry: the beat task marks passes past their time as expired, audited and emailed exactly once."""
from django.conf import settings
from django.core import mail

from accounts.models import AuditEvent
from mfa.access_pass import flows, tasks
from mfa.access_pass.models import AccessPass, Status
from mfa.access_pass.selectors import state_for
from tests.conftest import add_fake_device
from tests.mfa.access_pass.conftest import issue


def test_a_pass_past_its_time_is_expired_audited_and_emailed_once(acme, clock, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    add_fake_device(acme.bob)
    issue(acme.admin, acme.alice, acme.agency, hours=2)
    issue(acme.admin, acme.bob, acme.agency, hours=24)
    mail.outbox.clear()

    clock.advance(2 * 3600 - 1)
    assert flows.expire_passes() == 0  # not yet
    clock.advance(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.expire_passes() == 1
        assert tasks.expire_passes() == 0  # a second run tells nobody again
    clock.advance(3600)
    with django_capture_on_commit_callbacks(execute=True):
        assert flows.expire_passes() == 0

    alice, bob = AccessPass.objects.get(user=acme.alice), AccessPass.objects.get(user=acme.bob)
    assert (alice.status, bob.status) == (Status.EXPIRED, Status.ACTIVE)
    event = AuditEvent.objects.get(event_type="access_pass.expired")
    assert (event.actor, event.target_user, event.agency) == (None, acme.alice, acme.agency)
    assert event.data["lifetime_hours"] == 2 and event.data["expires_at"] == alice.expires_at.isoformat()
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]] and "expired" in mail.outbox[0].subject
    assert state_for(acme.alice).state == "expired"


def test_issuing_after_an_unswept_expiry_expires_the_old_pass_first(acme, clock, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    issue(acme.admin, acme.alice, acme.agency, hours=1)
    clock.advance(3600)
    with django_capture_on_commit_callbacks(execute=True):
        issue(acme.admin, acme.alice, acme.agency)
    assert [p.status for p in AccessPass.objects.filter(user=acme.alice).order_by("pk")] == [
        Status.EXPIRED, Status.ACTIVE]
    assert AuditEvent.objects.filter(event_type="access_pass.expired").count() == 1
    assert not AuditEvent.objects.filter(event_type="access_pass.revoked").exists()
    assert flows.expire_passes() == 0


def test_the_expiry_task_runs_on_celery_beat():
    from ctm_auth.celery import app

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == tasks.EXPIRE_TASK)
    assert 0 < entry["schedule"] <= 15 * 60
    assert tasks.EXPIRE_TASK in app.tasks


def test_the_compiled_devices_query_binds_the_time_of_each_call(acme, clock):
    """mfa.registry.active_devices_of compiles each method's query once; a pass's expiry is checked at each call."""
    from mfa.registry import active_devices_of, get_method, load_user_with_states

    add_fake_device(acme.alice)
    issue(acme.admin, acme.alice, acme.agency, hours=2)
    access_pass = get_method("access_pass")
    assert [device.pk for device in active_devices_of(load_user_with_states(pk=acme.alice.pk), access_pass)] == \
        [AccessPass.objects.get(user=acme.alice).pk]

    alice = load_user_with_states(pk=acme.alice.pk)  # her states, read while the pass still worked
    clock.advance(2 * 3600)  # past its time, not yet swept
    assert active_devices_of(alice, access_pass) == []
