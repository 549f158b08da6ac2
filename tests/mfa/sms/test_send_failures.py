"""Twilio failures through the outbox: explained on the page, audited, retried or final, no usable unsent code.

The text is an outbox row; the test settings send it in-process right after
the commit (the worker's code, run inline), so the first try's outcome is
on the row when send_code returns. Retries are driven as the worker would:
move the clock, then drain the outbox.
"""
import logging

import pytest

from accounts.delivery import engine
from accounts.models import AuditEvent, Delivery
from mfa.sms import challenges, flows
from mfa.sms.delivery import SEND_FAILED, SENT
from mfa.sms.models import SMSDevice
from tests.mfa.sms.conftest import NUMBER, flow_request

pytestmark = pytest.mark.django_db(transaction=True)

PERMANENT = [
    # Twilio error  stable error       words the person reads after "We could not send the text:"
    (21211,         "invalid_number",  "This phone number is not valid"),
    (21614,         "not_mobile",      "cannot receive text messages"),
    (21408,         "country_blocked", "cannot send text messages to this country"),
]
TRANSIENT = [
    (("status", 429), "busy"),
    (("status", 500), "unavailable"),
    (("status", 503), "unavailable"),
    (("hold", None),  "timeout"),
]
TRANSIENT_WORDS = {"busy": "service is busy", "unavailable": "not available right now",
                   "timeout": "did not answer in time"}


def script(fake, how, settings):
    kind, value = how
    if kind == "status":
        fake.fail_next_status(value)
    else:
        # Only a held answer waits out the client's timeout, so only it gets a short one. Elsewhere the
        # default (2 s) stays: on a loaded machine a 0.5 s timeout turned a scripted 503 into "timeout".
        settings.MFA_SMS_TWILIO_TIMEOUT = 0.5
        fake.hold_next()


def code_sent(fake) -> str:
    return fake.messages[-1].form["Body"].split("code is ")[1][:6]


@pytest.fixture
def twilio_user(user, fake_twilio):
    """A user who set up Text Messages through Twilio (the fake), as a person would."""
    request = flow_request(user)
    assert flows.start_enrolment(request, user=user, number=NUMBER).sent
    assert flows.confirm_setup_code(request, user=user, code=code_sent(fake_twilio)).ok
    fake_twilio.reset()
    return user


def sign_in_send(user, nonce="attempt-1"):
    return challenges.send_code(flow_request(), user=user, purpose="sign_in", nonce=nonce, number=NUMBER,
                                device=challenges.active_device(user))


def sign_in_status(user, nonce="attempt-1") -> challenges.DeliveryStatus:
    return challenges.status_for_step(user, "sign_in", nonce)


def sign_in_check(user, code, nonce="attempt-1"):
    return challenges.check_code(user=user, purpose="sign_in", nonce=nonce, code=code,
                                 device=challenges.active_device(user))


def retry_later(clock, seconds=120):
    clock.advance(seconds)
    return engine.deliver_due()


@pytest.mark.parametrize(("twilio_code", "error", "words"), PERMANENT)
def test_permanent_refusal_fails_the_text_at_once_explains_it_and_kills_its_code(
        twilio_user, fake_twilio, next_codes, twilio_code, error, words):
    next_codes("482913")
    fake_twilio.fail_next(twilio_code)

    assert sign_in_send(twilio_user).sent  # queued: the page does not wait for Twilio

    row = Delivery.objects.get(kind="sms:sign_in")
    assert row.state == "failed" and row.last_error == error and row.payload == ""
    status = sign_in_status(twilio_user)
    assert status.state == "failed" and status.message.startswith("We could not send the text:")
    assert words in status.message
    assert sign_in_check(twilio_user, "482913").error == "undelivered"
    event = AuditEvent.objects.get(event_type=SEND_FAILED, target_user=twilio_user)
    assert event.data["error"] == error and event.data["to"] == "+1 •••-•••-2671"
    assert NUMBER not in str(event.data) and "482913" not in str(event.data)
    assert not AuditEvent.objects.filter(event_type=SENT, data__purpose="sign_in").exists()
    assert retry_later_noop(fake_twilio)


def retry_later_noop(fake) -> bool:
    """A final row is never tried again."""
    before = len(fake.messages)
    engine.sweep()
    engine.deliver_due()
    return len(fake.messages) == before


@pytest.mark.parametrize(("how", "error"), TRANSIENT)
def test_transient_failure_says_so_and_is_retried_until_the_text_goes_out(
        twilio_user, fake_twilio, clock, next_codes, settings, how, error):
    next_codes("482913")
    script(fake_twilio, how, settings)

    assert sign_in_send(twilio_user).sent

    row = Delivery.objects.get(kind="sms:sign_in")
    assert row.state == "pending" and row.last_error == error and row.attempts == 1
    status = sign_in_status(twilio_user)
    assert status.state == "sending" and "trying again" in status.message
    fake_twilio.reset()  # Twilio answers again

    assert retry_later(clock, 10) == {"sent": 1}

    assert sign_in_status(twilio_user).state == "sent"
    assert [m.form["To"] for m in fake_twilio.messages] == [NUMBER]
    assert sign_in_check(twilio_user, "482913").ok


@pytest.mark.parametrize(("how", "error"), TRANSIENT)
def test_text_that_never_goes_through_is_given_up_explained_and_its_code_killed(
        twilio_user, fake_twilio, clock, next_codes, settings, how, error):
    next_codes("482913")
    for _ in range(6):
        script(fake_twilio, how, settings)

    sign_in_send(twilio_user)
    for _ in range(5):
        retry_later(clock, 70)

    row = Delivery.objects.get(kind="sms:sign_in")
    assert row.state == "dead" and row.last_error == error and row.attempts <= 5
    status = sign_in_status(twilio_user)
    assert status.state == "failed" and TRANSIENT_WORDS[error] in status.message
    assert sign_in_check(twilio_user, "482913").ok is False
    assert AuditEvent.objects.filter(event_type=SEND_FAILED, target_user=twilio_user).count() == 1


@pytest.mark.parametrize(("twilio_code", "error", "words"), PERMANENT)
def test_failed_text_gives_its_limit_slots_back(twilio_user, fake_twilio, settings, twilio_code, error, words):
    # The set-up text took one slot of each; one more text fits, a counted failure would not.
    settings.MFA_SMS_USER_LIMIT = (2, 15 * 60)
    settings.MFA_SMS_NUMBER_DAILY_LIMIT = 2
    settings.MFA_SMS_IP_DAILY_LIMIT = 2
    fake_twilio.fail_next(twilio_code)
    sign_in_send(twilio_user)
    assert sign_in_status(twilio_user).state == "failed"

    retry = sign_in_send(twilio_user)  # no cooldown either: nothing was sent

    assert retry.sent, retry
    assert sign_in_status(twilio_user).state == "sent"
    assert [r.form["To"] for r in fake_twilio.messages] == [NUMBER, NUMBER]


def test_failed_resend_replaces_the_previous_code_and_offers_resend_at_once(twilio_user, fake_twilio, clock):
    """A new code replaces the old one; if its text fails, the page says so and "Resend code" works at once."""
    assert sign_in_send(twilio_user).sent
    old_code = code_sent(fake_twilio)
    clock.advance(31)
    fake_twilio.fail_next(21211)

    assert sign_in_send(twilio_user).sent

    assert sign_in_status(twilio_user).state == "failed"
    assert sign_in_check(twilio_user, old_code).ok is False
    assert challenges.resend_wait(twilio_user.pk, "sign_in", "attempt-1") == 0
    assert sign_in_send(twilio_user).sent and sign_in_status(twilio_user).state == "sent"
    assert sign_in_check(twilio_user, code_sent(fake_twilio)).ok


def test_refused_enrolment_number_reaches_the_person_and_no_method_is_made(user, fake_twilio):
    fake_twilio.fail_next(21614)
    request = flow_request(user)

    assert flows.start_enrolment(request, user=user, number="+14155552671").sent

    state = flows.setup_state(request)
    status = challenges.status_for_step(user, state["stage"], state["nonce"])
    assert status.state == "failed" and status.error == "not_mobile" and status.about_number
    assert "cannot receive text messages" in status.message
    assert not SMSDevice.objects.filter(user=user).exists()
    assert flows.confirm_setup_code(request, user=user, code="000000").error == "undelivered"


def test_gateway_crash_is_retried_and_never_breaks_the_request(twilio_user, fake_twilio, monkeypatch, clock):
    class Broken:
        name = "broken"

        def send(self, message):
            raise RuntimeError(f"boom {message.body}")

    monkeypatch.setattr("mfa.sms.delivery.get_gateway", lambda: Broken())

    assert sign_in_send(twilio_user).sent

    row = Delivery.objects.get(kind="sms:sign_in")
    assert row.state == "pending" and row.last_error == "crashed"
    assert row.last_error_detail == {"exception": "RuntimeError"}
    monkeypatch.undo()
    assert retry_later(clock, 10) == {"sent": 1}


def test_failed_send_logs_no_code_and_no_token(twilio_user, fake_twilio, caplog, next_codes):
    caplog.set_level(logging.DEBUG)
    next_codes("482913")
    fake_twilio.fail_next(21211)

    sign_in_send(twilio_user)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "failed: invalid_number" in logged
    assert "482913" not in logged and fake_twilio.auth_token not in logged


def test_successful_twilio_send_records_the_message_sid(twilio_user, fake_twilio):
    assert sign_in_send(twilio_user).sent

    event = AuditEvent.objects.get(event_type=SENT, data__purpose="sign_in")
    assert event.data["gateway"] == "twilio" and event.data["reference"].startswith("SM")
    assert Delivery.objects.get(kind="sms:sign_in").reference == event.data["reference"]


def test_enrolment_through_twilio_sends_to_the_typed_number(user, fake_twilio):
    request = flow_request(user)
    assert flows.start_enrolment(request, user=user, number="+447400123456").sent
    sent, code = fake_twilio.messages[-1].form, code_sent(fake_twilio)

    assert sent["To"] == "+447400123456" and sent["From"] == "+15005550006"
    assert flows.confirm_setup_code(request, user=user, code=code).ok
    assert flows.active_device(user).number == "+447400123456"


def test_queued_text_holds_its_code_only_encrypted_and_forgets_it_once_sent(twilio_user, fake_twilio, settings,
                                                                            next_codes):
    from django.db import connection

    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"  # nothing drains: the row waits, as for a busy worker
    next_codes("482913")
    sign_in_send(twilio_user)
    row = Delivery.objects.get(kind="sms:sign_in")
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM accounts_delivery WHERE id = %s", [row.pk])
        stored = cursor.fetchone()[0]

    assert "482913" not in stored and stored.startswith("gAAAA")
    assert engine.deliver_due() == {"sent": 1}
    row.refresh_from_db()
    assert row.payload == "" and "482913" in fake_twilio.messages[-1].form["Body"]
