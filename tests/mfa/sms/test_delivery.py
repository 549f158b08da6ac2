"""Texts through the outbox: only the text a step still waits for goes out, and the page says where it is.

The web side only writes rows here (ACCOUNTS_DELIVERY_QUEUE = "poll", as
production's web process does); the test then drains the outbox the way
the worker would, with accounts.delivery.engine.
"""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.delivery import engine
from accounts.models import AuditEvent, Delivery, User
from mfa.app_settings import app_settings as mfa_settings
from mfa.sms import challenges
from mfa.sms.delivery import DROPPED, SENT
from mfa.sms.models import OutboxMessage, SMSChallenge
from tests.mfa.sms.conftest import NUMBER, OTHER_NUMBER, flow_request, last_code, start_sign_in, texts_to

pytestmark = pytest.mark.django_db(transaction=True)
VERIFY = reverse("accounts:login_verify")
STATUS = reverse("sms_delivery_status")


@pytest.fixture
def queued(settings):
    """The web side writes rows and nothing sends them until the test drains the outbox."""
    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"


def page(response) -> str:
    return response.content.decode()


def sign_in_text(user) -> Delivery:
    return Delivery.objects.filter(user=user, kind="sms:sign_in").latest("pk")


def test_step_two_says_sending_until_the_worker_sent_the_text(client, sms_user, queued):
    before = texts_to(NUMBER)
    start_sign_in(client, sms_user)

    response = client.get(VERIFY)

    assert "We are sending a code to +1 •••-•••-2671." in page(response)
    assert "Sending the text…" in page(response) and texts_to(NUMBER) == before
    assert client.get(STATUS, {"step": "sign_in"}).json() == {"state": "sending", "message": "Sending the text…"}
    assert engine.deliver_due() == {"sent": 1}
    assert client.get(STATUS, {"step": "sign_in"}).json() == {"state": "sent", "message": "Sent."}
    assert "Sent." in page(client.get(VERIFY))  # without the script, a refresh says the same
    assert client.post(VERIFY, {"code": last_code()}).status_code == 302


def test_step_two_shows_a_failed_text_and_offers_resend(client, sms_user, queued, fake_twilio):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    fake_twilio.fail_next(21614)

    engine.deliver_due()

    status = client.get(STATUS, {"step": "sign_in"}).json()
    assert status["state"] == "failed"
    assert status["message"].startswith("We could not send the text: This number cannot receive text messages")
    response = client.get(VERIFY)
    assert "We could not send the text" in page(response) and "Resend code" in page(response)
    assert texts_to(NUMBER) == 1  # only the set-up text: a refresh does not text again


def test_text_for_a_cancelled_sign_in_is_not_sent(client, sms_user, queued):
    before = texts_to(NUMBER)
    start_sign_in(client, sms_user)
    client.get(VERIFY)  # the text is queued

    client.post(reverse("accounts:logout"))  # "Cancel and sign out" on step 2
    engine.deliver_due()

    assert texts_to(NUMBER) == before
    row = sign_in_text(sms_user)
    assert row.state == "dropped" and row.last_error == "cancelled" and row.payload == ""
    event = AuditEvent.objects.get(event_type=DROPPED, target_user=sms_user)
    assert event.data["error"] == "cancelled" and event.data["purpose"] == "sign_in"


def test_text_for_a_sign_in_that_timed_out_is_not_sent(client, sms_user, queued, clock):
    before = texts_to(NUMBER)
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    clock.advance(mfa_settings.PENDING_SIGN_IN_TIMEOUT + 1)

    response = client.get(VERIFY)  # the half-done sign-in has expired: back to the password
    engine.deliver_due()

    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert sign_in_text(sms_user).state == "dropped" and texts_to(NUMBER) == before


def test_text_for_a_deleted_user_is_dropped_and_recorded(client, sms_user, queued):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    row = sign_in_text(sms_user)
    before = OutboxMessage.objects.count()

    User.objects.filter(pk=sms_user.pk).delete()
    engine.deliver_due()

    row.refresh_from_db()
    assert row.state == "dropped" and row.last_error == "user_deleted" and row.user is None
    assert OutboxMessage.objects.count() == before
    assert AuditEvent.objects.filter(event_type=DROPPED, data__delivery=row.pk).exists()


def test_text_queued_before_a_number_change_never_reaches_the_old_number(sms_user, queued, settings):
    pending = challenges.send_code(flow_request(), user=sms_user, purpose="sign_in", nonce="attempt-1",
                                   number=NUMBER, device=challenges.active_device(sms_user))
    assert pending.sent
    row = sign_in_text(sms_user)
    before_old = texts_to(NUMBER)

    challenges.active_device(sms_user).__class__.objects.filter(user=sms_user).update(number=OTHER_NUMBER)
    engine.deliver_due()

    row.refresh_from_db()
    assert row.state == "dropped" and row.last_error == "number_changed"
    assert texts_to(NUMBER) == before_old and texts_to(OTHER_NUMBER) == 0


def test_number_change_drops_texts_still_queued_for_the_old_number(sms_user, queued):
    from mfa.sms import flows

    challenges.send_code(flow_request(), user=sms_user, purpose="sign_in", nonce="attempt-1", number=NUMBER,
                         device=challenges.active_device(sms_user))
    queued_sign_in = sign_in_text(sms_user)
    request = flow_request(sms_user)
    flows.start_number_change(request, user=sms_user)
    engine.deliver_batch([Delivery.objects.get(kind="sms:change_current").pk])
    assert flows.confirm_setup_code(request, user=sms_user, code=last_code(NUMBER)).ok
    flows.submit_new_number(request, user=sms_user, number=OTHER_NUMBER)
    engine.deliver_batch([Delivery.objects.get(kind="sms:change_new").pk])
    assert flows.confirm_setup_code(request, user=sms_user, code=last_code(OTHER_NUMBER)).ok

    engine.deliver_due()

    queued_sign_in.refresh_from_db()
    assert queued_sign_in.state == "dropped" and queued_sign_in.last_error == "cancelled"
    assert not SMSChallenge.objects.filter(purpose="sign_in", user=sms_user).exists()


def test_resend_drops_the_text_it_replaced(client, sms_user, queued, clock):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    first = sign_in_text(sms_user)
    clock.advance(31)
    client.post(VERIFY, {"resend": "1", "method": "sms"})

    engine.deliver_due()

    first.refresh_from_db()
    assert first.state == "dropped" and first.last_error == "superseded"
    assert sign_in_text(sms_user).state == "sent"
    assert AuditEvent.objects.filter(event_type=SENT, target_user=sms_user, data__purpose="sign_in").count() == 1
    assert client.post(VERIFY, {"code": last_code()}).status_code == 302


def test_hanging_twilio_never_holds_the_web_request(client, sms_user, queued, fake_twilio, settings):
    settings.MFA_SMS_TWILIO_TIMEOUT = 0.5
    fake_twilio.hold_next()
    start_sign_in(client, sms_user)

    response = client.get(VERIFY)

    assert response.status_code == 200 and fake_twilio.messages == []  # the request never called Twilio
    assert engine.deliver_due() == {"retry": 1}  # the worker waited instead, and will try again
    assert "trying again" in client.get(STATUS, {"step": "sign_in"}).json()["message"]


def test_status_url_reads_only_this_sessions_step(client, sms_user, queued, make_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    stranger = Client()

    nothing = {"state": "none", "message": ""}
    assert stranger.get(STATUS, {"step": "sign_in"}).json() == nothing
    assert client.get(STATUS, {"step": "setup"}).json() == nothing  # not signed in: no set-up to read
    assert client.get(STATUS, {"step": "nonsense"}).json() == nothing
    assert client.get(STATUS, {"step": "sign_in"})["Cache-Control"].startswith("max-age=0")
    assert client.post(STATUS, {"step": "sign_in"}).status_code == 405


def test_set_up_page_shows_the_texts_state(sms_user, queued, make_user):
    from tests.conftest import reauthenticate, sign_in

    user = make_user()
    client = Client()
    sign_in(client, user)
    reauthenticate(client, user)
    response = client.post(reverse("mfa:sms:manage"), {"number": OTHER_NUMBER}, follow=True)

    assert "We are texting a 6-digit code to" in page(response) and "Sending the text…" in page(response)
    assert client.get(STATUS, {"step": "setup"}).json()["state"] == "sending"
    engine.deliver_due()
    assert client.get(STATUS, {"step": "setup"}).json()["state"] == "sent"
    assert "We texted a 6-digit code to" in page(client.get(reverse("mfa:sms:verify")))
