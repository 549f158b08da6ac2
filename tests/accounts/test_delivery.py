"""The outbox engine: written with the change, sent once, retried, given up, swept.

Emails are written through the product's notify.send, as every flow writes
them; failures come from a real SMTP server on loopback (tests/servers.py).
The web side uses the "poll" queue (it only writes rows) and the test drains
the outbox with deliver_due() and sweep(), as the worker would.
"""
import json

import pytest
from django.core import mail
from django.db import connection, transaction

from accounts import notify
from accounts.app_settings import app_settings
from accounts.delivery import engine
from accounts.delivery.channels import DELIVERY_DEAD, DELIVERY_DROPPED, DELIVERY_FAILED
from accounts.models import AuditEvent, Delivery
from tests.accounts.conftest import hang, headers
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE = "accounts/email/password_changed"
SUBJECT = "Your CallTrackingMetrics password was changed"


def email_user(user, ip: str = "198.51.100.23") -> Delivery:
    """Write the password-changed notice for ``user`` in its own committed transaction."""
    with transaction.atomic():
        return notify.send(user, TEMPLATE, {"request_ip": ip})


def row(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


def audit_events(event_type: str, delivery: Delivery):
    return AuditEvent.objects.filter(event_type=event_type, data__delivery=delivery.pk)


def retry_waits(delivery: Delivery, clock, tries: int) -> list[float]:
    """Fail ``tries`` times in a row (the server stays faulty); return each wait the engine chose."""
    waits = []
    for _ in range(tries):
        tried_at = clock.now()
        assert engine.deliver_due() == {"retry": 1}
        current = row(delivery)
        assert current.state == "pending" and current.next_attempt_at > clock.now()
        assert engine.deliver_due() == {}  # not due again before its wait is over
        waits.append((current.next_attempt_at - tried_at).total_seconds())
        clock.advance(waits[-1] + 1)
    return waits


# -- written with the change ---------------------------------------------------------

def test_enqueue_in_a_rolled_back_transaction_leaves_no_row_and_sends_nothing(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        notify.send(user, TEMPLATE, {"request_ip": "198.51.100.23"})
        assert Delivery.objects.count() == 1
        raise RuntimeError("the change failed after its email was written")

    assert not Delivery.objects.exists()
    assert mail.outbox == []
    assert engine.deliver_due() == {} and engine.sweep() == engine.SweepResult()
    assert mail.outbox == []


def test_committed_email_is_sent_once_and_its_payload_wiped(user, clock):
    delivery = email_user(user)  # the "inline" test queue sends right after the commit

    [sent] = mail.outbox
    assert sent.to == [user.email] and sent.subject == SUBJECT
    assert "198.51.100.23" in sent.body
    delivered = row(delivery)
    assert delivered.state == "sent" and delivered.attempts == 1
    assert delivered.payload == "" and delivered.finished_at is not None and delivered.last_error == ""

    clock.advance(app_settings.DELIVERY_LEASE + app_settings.DELIVERY_SWEEP_GRACE + 1)
    assert engine.deliver(delivery.pk) == "skipped"
    assert engine.sweep() == engine.SweepResult() and engine.deliver_due() == {}
    assert len(mail.outbox) == 1


def test_queued_email_is_encrypted_at_rest(user, poll_queue):
    delivery = email_user(user)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload FROM {Delivery._meta.db_table} WHERE id = %s", [delivery.pk])
        [(stored,)] = cursor.fetchall()
    assert stored  # something is queued...
    for plain in (SUBJECT, "password", "198.51.100.23", user.email, "subject", "body"):
        assert plain not in stored  # ...but a database dump shows none of it
    assert json.loads(row(delivery).payload)["subject"] == SUBJECT
    assert mail.outbox == []


# -- claim ------------------------------------------------------------------------

def test_claim_of_a_claimed_row_returns_none(user, poll_queue, clock):
    delivery = email_user(user)

    claimed = engine.claim(delivery.pk)
    assert claimed is not None and claimed.state == "sending" and claimed.attempts == 1
    assert (claimed.lease_until - clock.now()).total_seconds() == pytest.approx(app_settings.DELIVERY_LEASE, abs=5)
    assert engine.claim(delivery.pk) is None
    assert engine.deliver(delivery.pk) == "skipped"
    assert row(delivery).attempts == 1 and mail.outbox == []


# -- retries ------------------------------------------------------------------------

def test_transient_failure_retries_with_growing_waits_until_the_server_is_back(user, smtp, poll_queue, clock):
    delivery = email_user(user)  # the server is down: connection refused

    waits = retry_waits(delivery, clock, tries=4)

    base = app_settings.EMAIL_RETRY_BASE
    for tries, wait in enumerate(waits, start=1):
        expected = base * 2 ** (tries - 1)
        assert 0.9 * expected - 1 <= wait <= 1.1 * expected + 1, (tries, waits)
    assert waits == sorted(waits)
    failed = row(delivery)
    assert failed.attempts == 4 and failed.last_error == "smtp_unavailable"
    assert failed.payload  # still needed for the next try
    assert smtp.received == []

    smtp.accept()
    assert engine.deliver_due() == {"sent": 1}
    [received] = smtp.received
    assert received.recipients == [user.email] and headers(received) == (user.email, SUBJECT)
    assert row(delivery).state == "sent" and row(delivery).attempts == 5
    clock.advance(app_settings.EMAIL_RETRY_CAP)
    assert engine.deliver_due() == {} and len(smtp.received) == 1


def test_transient_failure_waits_are_capped(user, smtp, poll_queue, clock, settings):
    settings.ACCOUNTS_EMAIL_RETRY_BASE, settings.ACCOUNTS_EMAIL_RETRY_CAP = 30, 100
    delivery = email_user(user)

    waits = retry_waits(delivery, clock, tries=5)

    assert 27 - 1 <= waits[0] <= 33 + 1 and 54 - 1 <= waits[1] <= 66 + 1
    assert all(90 - 1 <= wait <= 110 + 1 for wait in waits[2:]), waits


@pytest.mark.parametrize(("fault", "error"), [
    ("down", "smtp_unavailable"), ("hang", "timeout"), ("tempfail", "recipient_refused"),
])
def test_transient_failure_is_recorded_with_a_stable_code(user, smtp, poll_queue, settings, fault, error):
    hang(smtp, settings) if fault == "hang" else getattr(smtp, fault)()
    delivery = email_user(user)

    assert engine.deliver_due() == {"retry": 1}

    failed = row(delivery)
    assert failed.state == "pending" and failed.last_error == error
    assert "198.51.100.23" not in json.dumps(failed.last_error_detail)  # facts about the failure, never the body
    assert smtp.received == []
    assert not AuditEvent.objects.filter(event_type__startswith="delivery.").exists()


def test_transient_failure_past_its_deadline_is_dead_with_one_audit_event(user, smtp, poll_queue, clock, settings):
    settings.ACCOUNTS_EMAIL_DEADLINE = 150  # tries at about 0, 30 and 90 s; the next wait would pass it
    delivery = email_user(user)

    outcomes = []
    while not row(delivery).is_final:
        outcomes.append(engine.deliver_due())
        clock.advance(max(1.0, (row(delivery).next_attempt_at - clock.now()).total_seconds() + 1))

    assert outcomes == [{"retry": 1}, {"retry": 1}, {"dead": 1}]
    dead = row(delivery)
    assert dead.state == "dead" and dead.last_error == "smtp_unavailable" and dead.attempts == 3
    [event] = audit_events(DELIVERY_DEAD, delivery)
    assert event.target_user == user and event.data["error"] == "smtp_unavailable"
    assert event.data["kind"] == TEMPLATE and event.data["attempts"] == 3

    smtp.accept()
    clock.advance(3600)
    assert engine.sweep().expired == 0 and engine.deliver_due() == {}
    assert smtp.received == [] and audit_events(DELIVERY_DEAD, delivery).count() == 1


def test_transient_failure_out_of_tries_is_dead(user, smtp, poll_queue, clock, settings):
    settings.ACCOUNTS_EMAIL_RETRY_BASE = settings.ACCOUNTS_EMAIL_RETRY_CAP = 1
    settings.ACCOUNTS_EMAIL_DEADLINE = 30 * 24 * 60 * 60  # far away: only the count of tries can end it
    delivery = email_user(user)
    max_attempts = engine.get_channel("email").max_attempts

    for _ in range(max_attempts - 1):
        assert engine.deliver_due() == {"retry": 1}
        clock.advance(2)
    assert engine.deliver_due() == {"dead": 1}

    dead = row(delivery)
    assert dead.state == "dead" and dead.attempts == max_attempts
    assert audit_events(DELIVERY_DEAD, delivery).get().data["attempts"] == max_attempts
    smtp.accept()
    clock.advance(60)
    assert engine.deliver_due() == {} and smtp.received == []


def test_recipient_refused_fails_at_once_with_an_audit_event_and_is_never_retried(user, smtp, poll_queue, clock):
    smtp.refuse()  # 550 on RCPT TO
    delivery = email_user(user)

    assert engine.deliver_due() == {"failed": 1}

    failed = row(delivery)
    assert failed.state == "failed" and failed.last_error == "recipient_refused"
    assert failed.last_error_detail == {"smtp_code": 550} and failed.attempts == 1
    [event] = audit_events(DELIVERY_FAILED, delivery)
    assert event.target_user == user and event.data["error"] == "recipient_refused"
    smtp.accept()
    clock.advance(app_settings.EMAIL_DEADLINE - 60)
    assert engine.sweep() == engine.SweepResult() and engine.deliver_due() == {}
    assert smtp.received == [] and row(delivery).attempts == 1


def test_email_of_a_deleted_user_is_dropped_audited_and_not_sent(user, smtp, poll_queue):
    smtp.accept()
    delivery = email_user(user)
    user.delete()

    assert engine.deliver_due() == {"dropped": 1}

    dropped = row(delivery)
    assert dropped.state == "dropped" and dropped.last_error == "user_deleted"
    assert dropped.user is None and dropped.payload == ""
    [event] = audit_events(DELIVERY_DROPPED, delivery)
    assert event.target_user is None and event.data["error"] == "user_deleted"
    assert smtp.received == []


# -- the sweep ----------------------------------------------------------------------

def test_sweep_hands_the_row_of_a_dead_worker_to_another_once_its_lease_ran_out(user, smtp, poll_queue, clock):
    smtp.accept()
    delivery = email_user(user)
    assert engine.claim(delivery.pk) is not None  # a worker claimed it, then died before sending

    clock.advance(app_settings.DELIVERY_LEASE - 5)
    assert engine.sweep().recovered == 0 and engine.deliver_due() == {}  # its lease still holds
    clock.advance(10)
    assert engine.sweep().recovered == 1
    assert row(delivery).state == "pending" and row(delivery).last_error == "worker_lost"

    assert engine.deliver_due() == {"sent": 1}
    [received] = smtp.received
    assert headers(received) == (user.email, SUBJECT)
    assert row(delivery).state == "sent" and row(delivery).attempts == 2
    clock.advance(app_settings.DELIVERY_LEASE + app_settings.DELIVERY_SWEEP_GRACE + 1)
    assert engine.sweep() == engine.SweepResult() and engine.deliver_due() == {}
    assert len(smtp.received) == 1


def test_sweep_dispatches_again_a_row_whose_task_was_lost(user, poll_queue, clock, settings):
    delivery = email_user(user)  # written; its task never reached a worker
    clock.advance(app_settings.DELIVERY_SWEEP_GRACE - 5)
    settings.ACCOUNTS_DELIVERY_QUEUE = "inline"  # from here, a dispatch sends
    assert engine.sweep().requeued == 0 and mail.outbox == []  # its task may still be on its way

    clock.advance(10)
    assert engine.sweep().requeued == 1

    [sent] = mail.outbox
    assert sent.to == [user.email] and sent.subject == SUBJECT
    assert row(delivery).state == "sent"
    clock.advance(app_settings.DELIVERY_SWEEP_GRACE + 1)
    assert engine.sweep() == engine.SweepResult() and len(mail.outbox) == 1


def test_sweep_gives_up_rows_past_their_deadline(user, make_user, smtp, poll_queue, clock):
    retried = email_user(user)
    assert engine.deliver_due() == {"retry": 1}  # the server is down
    never_tried = email_user(make_user("late@example.test"))  # its worker never came

    clock.advance(app_settings.EMAIL_DEADLINE + 1)
    smtp.accept()
    assert engine.sweep().expired == 2

    assert (row(retried).state, row(retried).last_error) == ("dead", "smtp_unavailable")
    assert (row(never_tried).state, row(never_tried).last_error) == ("dead", "deadline_passed")
    assert audit_events(DELIVERY_DEAD, retried).count() == 1 and audit_events(DELIVERY_DEAD, never_tried).count() == 1
    assert engine.deliver_due() == {} and engine.sweep().expired == 0
    assert smtp.received == []


def test_worker_gives_up_a_row_past_its_deadline_instead_of_sending_it(user, smtp, poll_queue, clock):
    smtp.accept()
    delivery = email_user(user)
    clock.advance(app_settings.EMAIL_DEADLINE + 1)  # the workers were down for a day

    assert engine.deliver_due() == {"dead": 1}  # the worker got to it before the sweep

    assert smtp.received == []
    assert (row(delivery).state, row(delivery).last_error) == ("dead", "deadline_passed")
    assert audit_events(DELIVERY_DEAD, delivery).count() == 1
    assert engine.sweep().expired == 0 and audit_events(DELIVERY_DEAD, delivery).count() == 1


# -- two workers at once (PostgreSQL) --------------------------------------------------

@pytest.mark.needs_postgres
def test_two_workers_delivering_the_same_rows_send_each_email_once(make_user, smtp, poll_queue):
    smtp.accept()
    users = [make_user(f"member{i}@example.test") for i in range(6)]
    ids = [email_user(member).pk for member in users]

    results = run_concurrently(lambda _index: engine.deliver_batch(ids))

    assert not [result for result in results if isinstance(result, Exception)], results
    assert sum(result.get("sent", 0) for result in results) == len(ids)
    assert sum(result.get("skipped", 0) for result in results) == len(ids)
    assert sorted(rcpt for received in smtp.received for rcpt in received.recipients) == sorted(
        member.email for member in users)
    assert set(Delivery.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"sent"}
    assert set(Delivery.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}
