"""Texts sent by a real Celery worker through the real twilio SDK to the fake Twilio API.

The web process only writes the outbox row and queues a task (as in
production); a ``celery -A ctm_auth worker`` subprocess (tests/workers.py)
sends it. Rows must be committed for the worker to see them, and the worker
runs on real time, so every test is transactional and never moves the clock.
"""
import time
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from accounts.delivery import engine
from accounts.delivery.queues import CeleryQueue
from accounts.models import AuditEvent, Delivery
from mfa.sms import challenges
from mfa.sms.delivery import SENT
from tests.mfa.sms.conftest import NUMBER, enrol_sms, flow_request, start_sign_in
from tests.servers import RedisServer
from tests.workers import CeleryWorker, WorkerPool, print_logs_if_failed, wait_until, web_side_dispatches_to

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]
VERIFY = reverse("accounts:login_verify")
STATUS = reverse("sms_delivery_status")
SEND_ATTEMPTS = 3


def twilio_environment(fake, *, timeout: float) -> dict[str, str]:
    """What makes the worker text through the real SDK to the fake (the settings read these variables)."""
    return {"MFA_SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": fake.url, "TWILIO_TIMEOUT": str(timeout), "MFA_SMS_RETRY_BASE": "0.2"}


@pytest.fixture
def broker():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def pool(broker, tmp_path, settings):
    settings.MFA_SMS_SEND_ATTEMPTS = SEND_ATTEMPTS  # the worker reads it from the environment below
    with WorkerPool(broker.url, tmp_path) as workers, web_side_dispatches_to(broker.url):
        settings.ACCOUNTS_DELIVERY_QUEUE = "celery"
        yield workers


@pytest.fixture(autouse=True)
def _worker_logs_on_failure(request):
    failures_before, started_before = request.session.testsfailed, len(CeleryWorker.started)
    yield
    print_logs_if_failed(request, failures_before, CeleryWorker.started[started_before:])


def enrolled(user, settings, number: str = NUMBER):
    """Set Text Messages up through the flows (outbox gateway, sent in-process), then hand texting to Twilio."""
    queue, backend = settings.ACCOUNTS_DELIVERY_QUEUE, settings.MFA_SMS_BACKEND
    settings.ACCOUNTS_DELIVERY_QUEUE, settings.MFA_SMS_BACKEND = "inline", "outbox"
    enrol_sms(user, number)
    settings.ACCOUNTS_DELIVERY_QUEUE, settings.MFA_SMS_BACKEND = queue, backend
    return user


def state_of(row: Delivery) -> str:
    row.refresh_from_db()
    return row.state


@pytest.mark.parametrize("how", ["hold", "500"])
def test_twilio_down_never_holds_the_request_and_the_page_then_shows_the_failure(
        client, user, fake_twilio, pool, settings, next_codes, how):
    # A short timeout only where Twilio holds the request: a loaded machine must not turn the 500 into a timeout.
    timeout = 0.5 if how == "hold" else 2.0
    pool.start(env={**twilio_environment(fake_twilio, timeout=timeout), "MFA_SMS_SEND_ATTEMPTS": str(SEND_ATTEMPTS)})
    enrolled(user, settings)
    for _ in range(SEND_ATTEMPTS):
        fake_twilio.hold_next() if how == "hold" else fake_twilio.fail_next_status(500)
    next_codes("482913")
    start_sign_in(client, user)

    started = time.monotonic()
    response = client.get(VERIFY)
    elapsed = time.monotonic() - started

    assert response.status_code == 200 and elapsed < 1.0  # the worker waits on Twilio, not the page
    assert "We are sending a code to +1 •••-•••-2671." in response.content.decode()
    row = Delivery.objects.get(kind="sms:sign_in")
    wait_until(lambda: state_of(row) == "dead", timeout=30, what="the text to be given up", logs=pool.logs)
    assert row.attempts == SEND_ATTEMPTS and len(fake_twilio.messages) == SEND_ATTEMPTS
    status = client.get(STATUS, {"step": "sign_in"}).json()
    words = "did not answer in time" if how == "hold" else "not available right now"
    assert status["state"] == "failed" and words in status["message"]
    assert "We could not send the text" in client.get(VERIFY).content.decode()
    response = client.post(VERIFY, {"code": "482913"})  # the code nobody received does not work
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert fake_twilio.accepted == []


def test_worker_killed_mid_send_is_replaced_and_the_text_goes_out_once(
        client, user, fake_twilio, pool, settings):
    environment = {**twilio_environment(fake_twilio, timeout=30), "ACCOUNTS_DELIVERY_LEASE": "2",
                   "ACCOUNTS_DELIVERY_SWEEP_GRACE": "1"}
    first = pool.start(env=environment)
    enrolled(user, settings)
    fake_twilio.hold_next()  # Twilio takes the request and never answers: the worker is stuck in the send
    start_sign_in(client, user)
    client.get(VERIFY)
    row = Delivery.objects.get(kind="sms:sign_in")
    wait_until(lambda: state_of(row) == "sending" and len(fake_twilio.messages) == 1, what="the stuck send",
               logs=pool.logs)

    first.kill()
    fake_twilio.release.set()  # the held request ends (it answers a connection nobody reads any more)
    pool.start(env=environment, beat=True)

    wait_until(lambda: state_of(row) == "sent", timeout=30, what="the sweep to recover the row", logs=pool.logs)
    assert row.attempts == 2
    assert len(fake_twilio.accepted) == 1 and fake_twilio.accepted[0].form["To"] == NUMBER
    # The worker records the row sent first (a text is never sent twice), then its audit event.
    sent_events = AuditEvent.objects.filter(event_type=SENT, data__delivery=row.pk)
    wait_until(lambda: sent_events.exists(), what="the text's audit event", logs=pool.logs)
    assert sent_events.count() == 1
    code = fake_twilio.accepted[0].form["Body"].split("code is ")[1][:6]
    assert client.post(VERIFY, {"code": code}).status_code == 302


def test_two_workers_send_each_text_once_however_often_it_is_queued(make_user, fake_twilio, pool, settings):
    environment = {**twilio_environment(fake_twilio, timeout=5), "ACCOUNTS_DELIVERY_SWEEP_GRACE": "0"}
    pool.start(env=environment)
    pool.start(env=environment)
    numbers = [f"+1415555{2671 + i}" for i in range(6)]
    users = [enrolled(make_user(), settings, number) for number in numbers]
    fake_twilio.reset()

    for index, user in enumerate(users):
        assert challenges.send_code(flow_request(ip=f"203.0.113.{10 + index}"), user=user, purpose="sign_in",
                                    nonce=f"attempt-{index}", number=numbers[index],
                                    device=challenges.active_device(user)).sent
    ids = list(Delivery.objects.filter(kind="sms:sign_in").values_list("pk", flat=True))
    for _ in range(3):
        CeleryQueue().dispatch(ids)
    engine.sweep()

    wait_until(lambda: set(Delivery.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"sent"},
               timeout=30, what="every text to be sent", logs=pool.logs)
    time.sleep(1)  # let the duplicate tasks still in the queue run: each must find its row taken
    assert Counter(m.form["To"] for m in fake_twilio.accepted) == Counter(numbers)
    assert len(fake_twilio.messages) == len(numbers)


def test_status_url_follows_the_worker_from_sending_to_sent(user, fake_twilio, pool, settings):
    pool.start(env=twilio_environment(fake_twilio, timeout=5))
    enrolled(user, settings)
    client = Client()
    start_sign_in(client, user)
    client.get(VERIFY)

    wait_until(lambda: client.get(STATUS, {"step": "sign_in"}).json()["state"] == "sent",
               what="the status URL to say sent", logs=pool.logs)
    assert len(fake_twilio.accepted) == 1
