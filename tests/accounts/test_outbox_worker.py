"""`manage.py outbox_worker`: the zero-config worker `make run` starts beside runserver."""
import io
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from accounts import notify
from accounts.models import Delivery
from tests.workers import BASE_DIR, database_url, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def notice(user) -> Delivery:
    with transaction.atomic():
        return notify.send(user, "accounts/email/password_changed", {"request_ip": "203.0.113.7"})


def test_outbox_worker_once_sends_what_is_due(user, poll_queue):
    row = notice(user)
    assert mail.outbox == []  # the web side only wrote the row

    out = io.StringIO()
    call_command("outbox_worker", "--once", stdout=out)

    row.refresh_from_db()
    assert row.state == "sent" and [m.to for m in mail.outbox] == [[user.email]]
    assert "Outbox worker: 1 sent" in out.getvalue()


@pytest.mark.needs_postgres
def test_outbox_worker_process_polls_sends_and_stops_on_sigterm(user, poll_queue, smtp, tmp_path):
    """The real command, as `make run` starts it: a process of its own polling the shared database."""
    smtp.accept()
    log = tmp_path / "outbox_worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctm_auth.settings.test", "DATABASE_URL": database_url(),
           "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
           "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(smtp.port), "DELIVERY_QUEUE": "poll"}
    with open(log, "wb") as output:
        worker = subprocess.Popen([sys.executable, "manage.py", "outbox_worker", "--interval", "0.2"], cwd=BASE_DIR,
                                  env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        row = notice(user)

        wait_until(lambda: Delivery.objects.get(pk=row.pk).state == "sent", what="the poll worker to send it",
                   logs=log.read_text)
        assert len(smtp.received) == 1 and smtp.received[0].recipients == [user.email]
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=10)
    assert code == 0, log.read_text()


def test_outbox_worker_also_runs_the_beat_jobs_make_run_has_no_beat_for(acme, poll_queue, clock):
    """Without Celery beat, the zero-config worker expires access passes (and sends reminders) itself."""
    from mfa.access_pass.models import AccessPass, Status
    from tests.conftest import add_fake_device
    from tests.mfa.access_pass.conftest import issue

    add_fake_device(acme.alice)
    issue(acme.admin, acme.alice, acme.agency, hours=1)
    clock.advance(3600)

    call_command("outbox_worker", "--once", stdout=io.StringIO())

    assert AccessPass.objects.get(user=acme.alice).status == Status.EXPIRED
    assert any(m.to == [acme.alice.email] and "expired" in m.subject for m in mail.outbox)
