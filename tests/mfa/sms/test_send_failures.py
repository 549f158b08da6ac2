"""Twilio failures: a clear message, an audit entry, nothing half-saved, nothing counted."""
import pytest

from accounts.models import AuditEvent
from mfa.sms import flows
from mfa.sms.models import SMSChallenge, SMSDevice
from tests.mfa.sms.conftest import NUMBER, flow_request

pytestmark = pytest.mark.django_db(transaction=True)

FAILURES = [
    # scripted answer                      stable error       words the person reads
    (("code", 21211),                      "invalid_number",  "This phone number is not valid"),
    (("code", 21614),                      "not_mobile",      "cannot receive text messages"),
    (("code", 21408),                      "country_blocked", "cannot send text messages to this country"),
    (("status", 429),                      "busy",            "service is busy"),
    (("status", 500),                      "unavailable",     "not available right now"),
    (("status", 503),                      "unavailable",     "not available right now"),
    (("hold", None),                       "timeout",         "did not answer in time"),
]


def script(fake, how):
    kind, value = how
    if kind == "code":
        fake.fail_next(value)
    elif kind == "status":
        fake.fail_next_status(value)
    else:
        fake.hold_next()


def code_sent(fake) -> str:
    return fake.messages[-1].form["Body"].split("code is ")[1][:6]


@pytest.fixture
def twilio_user(user, fake_twilio, settings):
    """A user who set up Text Messages through Twilio (the fake), as a person would."""
    request = flow_request(user)
    assert flows.start_enrolment(request, user=user, number=NUMBER).sent
    assert flows.confirm_setup_code(request, user=user, code=code_sent(fake_twilio)).ok
    fake_twilio.reset()
    settings.MFA_SMS_TWILIO_TIMEOUT = 0.5
    return user


def sign_in_send(user, nonce="attempt-1"):
    return flows.send_code(flow_request(), user=user, purpose="sign_in", nonce=nonce, number=NUMBER,
                           device=flows.active_device(user))


@pytest.mark.parametrize(("how", "error", "words"), FAILURES)
def test_failed_send_is_explained_audited_and_leaves_no_code(twilio_user, fake_twilio, how, error, words):
    script(fake_twilio, how)

    outcome = sign_in_send(twilio_user)

    assert not outcome.sent and outcome.error == error
    assert words in outcome.message
    assert not SMSChallenge.objects.filter(user=twilio_user, purpose="sign_in").exists()
    event = AuditEvent.objects.get(event_type=flows.SEND_FAILED, target_user=twilio_user)
    assert event.data["error"] == error and event.data["to"] == "•••• ••• 2671"
    assert NUMBER not in str(event.data)
    assert not AuditEvent.objects.filter(event_type=flows.SENT, data__purpose="sign_in").exists()


@pytest.mark.parametrize(("how", "error", "words"), FAILURES)
def test_failed_send_does_not_count_against_limits(twilio_user, fake_twilio, settings, how, error, words):
    # The set-up text took one slot of each; one more text fits, a counted failure would not.
    settings.MFA_SMS_USER_LIMIT = (2, 15 * 60)
    settings.MFA_SMS_NUMBER_DAILY_LIMIT = 2
    settings.MFA_SMS_IP_DAILY_LIMIT = 2
    script(fake_twilio, how)
    assert not sign_in_send(twilio_user).sent

    retry = sign_in_send(twilio_user)  # no cooldown either: nothing was sent

    assert retry.sent, retry
    assert [r.form["To"] for r in fake_twilio.messages] == [NUMBER, NUMBER]


def test_failed_resend_keeps_the_previous_code_usable(twilio_user, fake_twilio, clock):
    assert sign_in_send(twilio_user).sent
    code = code_sent(fake_twilio)
    clock.advance(31)
    fake_twilio.fail_next_status(500)

    assert sign_in_send(twilio_user).error == "unavailable"

    row = SMSChallenge.objects.get(user=twilio_user, purpose="sign_in")
    assert row.sends == 1
    assert flows.check_code(user=twilio_user, purpose="sign_in", nonce="attempt-1", code=code,
                            device=flows.active_device(twilio_user)).ok


def test_failed_enrolment_send_leaves_no_method_and_no_setup(user, fake_twilio):
    fake_twilio.fail_next(21614)
    request = flow_request(user)

    outcome = flows.start_enrolment(request, user=user, number="+14155552671")

    assert outcome.error == "not_mobile" and outcome.about_number
    assert not SMSDevice.objects.filter(user=user).exists()
    assert not SMSChallenge.objects.filter(user=user).exists()
    assert flows.setup_state(request) is None


def test_gateway_crash_is_a_clean_failure(twilio_user, monkeypatch):
    class Broken:
        def send(self, message):
            raise RuntimeError(f"boom {message.body}")

    monkeypatch.setattr(flows, "get_gateway", lambda: Broken())

    outcome = sign_in_send(twilio_user)

    assert outcome.error == "failed"
    assert not SMSChallenge.objects.filter(user=twilio_user, purpose="sign_in").exists()
    assert AuditEvent.objects.get(event_type=flows.SEND_FAILED).data["exception"] == "RuntimeError"


def test_failed_send_logs_no_code_and_no_token(twilio_user, fake_twilio, caplog, next_codes):
    import logging

    caplog.set_level(logging.DEBUG)
    next_codes("482913")
    fake_twilio.fail_next(21211)

    sign_in_send(twilio_user)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SMS not sent: invalid_number" in logged
    assert "482913" not in logged and fake_twilio.auth_token not in logged


def test_successful_twilio_send_records_the_message_sid(twilio_user, fake_twilio):
    assert sign_in_send(twilio_user).sent

    event = AuditEvent.objects.get(event_type=flows.SENT, data__purpose="sign_in")
    assert event.data["gateway"] == "twilio" and event.data["reference"].startswith("SM")


def test_enrolment_through_twilio_sends_to_the_typed_number(user, fake_twilio):
    request = flow_request(user)
    assert flows.start_enrolment(request, user=user, number="+447400123456").sent
    sent, code = fake_twilio.messages[-1].form, code_sent(fake_twilio)

    assert sent["To"] == "+447400123456" and sent["From"] == "+15005550006"
    assert flows.confirm_setup_code(request, user=user, code=code).ok
    assert flows.active_device(user).number == "+447400123456"
