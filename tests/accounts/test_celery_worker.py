"""The outbox drained by real Celery workers: delivery, retries, a killed worker, duplicates, a lost broker.

Every worker here is a ``celery -A ctm_auth worker`` subprocess (tests/workers.py)
on this run's PostgreSQL test database, sending to a real SMTP server on
loopback (tests/servers.py). Rows must be committed for a worker to see
them, so every test is transactional; the workers run on real time, so the
project clock is never moved.
"""
import contextlib
import email
import email.policy
import socket
import time
from collections import Counter

import pytest
from django.db import transaction
from django.urls import reverse

from accounts import notify
from accounts.delivery import engine
from accounts.delivery.queues import CeleryQueue
from accounts.models import Delivery
from tests.conftest import PASSWORD
from tests.servers import RedisServer, SMTPServer, wait_for_port
from tests.workers import (
    CeleryWorker,
    WorkerPool,
    print_logs_if_failed,
    smtp_environment,
    wait_until,
    web_side_dispatches_to,
)

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a brand new passphrase"
# The shared worker retries an email after about 1 s, then 2 s, 4 s...
SHARED_WORKER_ENV = {"ACCOUNTS_EMAIL_RETRY_BASE": "1"}


@pytest.fixture(scope="module")
def mail_server():
    server = SMTPServer().accept()
    yield server
    server.down()


@pytest.fixture(scope="module")
def broker():
    """The shared worker's broker: ours alone, never the suite's Redis (its cache is flushed per test)."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_pool(broker, mail_server, django_db_setup, tmp_path_factory):
    """One worker kept for the module, for the tests that neither kill it nor need other settings."""
    with WorkerPool(broker.url, tmp_path_factory.mktemp("celery-shared")) as pool:
        pool.start(env={**smtp_environment(mail_server), **SHARED_WORKER_ENV})
        yield pool


@pytest.fixture
def shared_worker(shared_pool, broker):
    with web_side_dispatches_to(broker.url):
        yield shared_pool


@pytest.fixture
def own_broker():
    """A broker for one test, so that no other worker takes its tasks."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def pool(own_broker, tmp_path):
    with WorkerPool(own_broker.url, tmp_path) as workers:
        yield workers


@pytest.fixture(autouse=True)
def _smtp_accepting(mail_server):
    accept_again(mail_server)
    mail_server.received.clear()
    yield
    accept_again(mail_server)


def accept_again(mail_server: SMTPServer) -> None:
    """Switch ``mail_server`` back to accepting, even from hang().

    SMTPServer.down() closes hang()'s listener while its thread is blocked in
    accept(), which keeps the socket listening: one connection wakes the
    thread, which then finds the listener closed and ends.
    """
    if mail_server.mode == "hang":
        mail_server.down()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", mail_server.port), timeout=1):
            pass
        wait_for_port(mail_server.port, up=False)
        mail_server.down()  # the connection that woke the thread
    mail_server.accept()


@pytest.fixture(autouse=True)
def _worker_logs_on_failure(request):
    failures_before = request.session.testsfailed
    running_before = [worker for worker in CeleryWorker.started if worker.alive]
    started_before = len(CeleryWorker.started)
    yield
    print_logs_if_failed(request, failures_before, running_before + CeleryWorker.started[started_before:])


def change_password(client):
    return client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
    })


def only_row() -> Delivery:
    rows = list(Delivery.objects.all())
    assert len(rows) == 1, rows
    return rows[0]


def wait_for_state(delivery: Delivery, state: str, logs, *, timeout: float = 20.0) -> Delivery:
    def reached():
        delivery.refresh_from_db()
        return delivery.state == state

    wait_until(reached, timeout=timeout, what=f"delivery {delivery.pk} to be {state!r}", logs=logs)
    return delivery


def recipients(mail_server: SMTPServer) -> list[str]:
    return [address for mail in mail_server.received for address in mail.recipients]


def test_password_change_email_is_delivered_by_the_worker(shared_worker, signed_in_client, user, mail_server):
    response = change_password(signed_in_client)

    assert response.status_code == 302
    row = wait_for_state(only_row(), "sent", shared_worker.logs)
    assert (row.kind, row.to, row.attempts, row.payload) == ("accounts/email/password_changed", user.email, 1, "")
    assert recipients(mail_server) == [user.email]
    message = email.message_from_string(mail_server.received[0].content, policy=email.policy.default)
    assert message["To"] == user.email
    assert "password was changed" in message["Subject"]


def test_email_is_retried_with_backoff_until_the_mail_server_returns(shared_worker, user, mail_server):
    mail_server.down()
    with transaction.atomic():
        row = notify.send(user, "accounts/email/password_changed", {"request_ip": "192.0.2.1"})

    seen = {}

    def waiting_after_try(attempts: int):
        def check():
            row.refresh_from_db()
            if row.state == "pending" and row.attempts == attempts:
                seen[attempts] = (row.next_attempt_at - row.dispatched_at).total_seconds(), row.last_error
            return attempts in seen
        return check

    wait_until(waiting_after_try(1), what="the first failed try", logs=shared_worker.logs)
    wait_until(waiting_after_try(2), what="the second failed try", logs=shared_worker.logs)
    mail_server.accept()
    wait_for_state(row, "sent", shared_worker.logs)

    # Waits of about 1 s and 2 s (±10 % jitter), and the operator saw why.
    assert 0.85 <= seen[1][0] <= 1.15 and 1.75 <= seen[2][0] <= 2.25, seen
    assert seen[1][1] == seen[2][1] == "smtp_unavailable"
    assert (row.attempts, row.last_error) == (3, "")
    assert recipients(mail_server) == [user.email]


def test_email_stuck_in_a_killed_worker_is_sent_once_by_the_sweep(pool, own_broker, user, mail_server):
    lease = {"ACCOUNTS_DELIVERY_LEASE": "2"}
    mail_server.hang()
    doomed = pool.start(env={**smtp_environment(mail_server, timeout=30), **lease})
    with web_side_dispatches_to(own_broker.url):
        with transaction.atomic():
            row = notify.send(user, "accounts/email/password_changed", {"request_ip": "192.0.2.1"})
        wait_for_state(row, "sending", pool.logs)

        doomed.kill()
        accept_again(mail_server)
        pool.start(env={**smtp_environment(mail_server), **lease}, beat=True)
        wait_for_state(row, "sent", pool.logs)

    assert row.attempts == 2
    assert recipients(mail_server) == [user.email]


def test_rows_queued_many_times_to_two_workers_are_each_sent_once(shared_worker, broker, make_user, mail_server,
                                                                  settings, tmp_path):
    users = [make_user() for _ in range(20)]
    with WorkerPool(broker.url, tmp_path) as second:
        second.start(env={**smtp_environment(mail_server), **SHARED_WORKER_ENV})
        workers = [*shared_worker.workers, *second.workers]
        offsets = [worker.log_size() for worker in workers]

        with transaction.atomic():
            ids = [notify.send(member, "accounts/email/password_changed", {"request_ip": "192.0.2.1"}).pk
                   for member in users]
        CeleryQueue().dispatch(ids)
        CeleryQueue().dispatch(ids)
        settings.ACCOUNTS_DELIVERY_SWEEP_GRACE = 0  # every row still pending counts as lost
        engine.sweep()

        def logs() -> str:
            return shared_worker.logs() + second.logs()

        wait_until(lambda: Delivery.objects.filter(pk__in=ids, state="sent").count() == len(ids),
                   what="all 20 rows to be sent", logs=logs)
        # Every row was queued at least three times: wait until each of those tasks has run.
        wait_until(lambda: finished_tasks(workers, offsets) >= len(ids) + 2, what="the repeated tasks", logs=logs)

    assert Counter(recipients(mail_server)) == {member.email: 1 for member in users}


def finished_tasks(workers: list[CeleryWorker], offsets: list[int]) -> int:
    """Count the accounts.deliver tasks these workers ran since their log was at ``offsets``."""
    return sum(1 for worker, since in zip(workers, offsets, strict=True) for line in worker.log(since).splitlines()
               if "Task accounts.deliver[" in line and "] succeeded in" in line)


def test_email_written_while_the_broker_is_down_is_swept_and_sent_once(pool, own_broker, signed_in_client,
                                                                       user, mail_server, settings):
    with web_side_dispatches_to(own_broker.url):
        own_broker.stop()
        started = time.monotonic()
        response = change_password(signed_in_client)
        elapsed = time.monotonic() - started

        # The page did not wait for kombu to retry the connection (CELERY_BROKER_CONNECTION_TIMEOUT).
        assert response.status_code == 302 and elapsed < settings.CELERY_BROKER_CONNECTION_TIMEOUT, elapsed
        row = only_row()
        assert (row.state, row.attempts) == ("pending", 0)

        own_broker.start()
        pool.start(env={**smtp_environment(mail_server), "ACCOUNTS_DELIVERY_SWEEP_GRACE": "1"}, beat=True)
        wait_for_state(row, "sent", pool.logs)

    assert row.attempts == 1
    assert recipients(mail_server) == [user.email]
