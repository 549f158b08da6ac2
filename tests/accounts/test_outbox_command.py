"""What operators see of the outbox: `manage.py outbox`, its --retry, and the read-only admin list."""
import io
import json

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts import notify
from accounts.delivery import engine
from accounts.models import Delivery, User
from tests.accounts.conftest import accept_again, hang
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def outbox(*args: str) -> str:
    out = io.StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def notice(user) -> Delivery:
    with transaction.atomic():
        return notify.send(user, "accounts/email/password_changed", {"request_ip": "203.0.113.7"})


def test_outbox_lists_counts_and_the_failed_row_with_its_error_and_a_masked_recipient(user, smtp, poll_queue):
    smtp.refuse()
    row = notice(user)
    engine.deliver_due()

    text = outbox()

    assert "email    failed    1" in text
    line = next(line for line in text.splitlines() if line.startswith(f"{row.pk} "))
    assert "failed" in line and "accounts/email/password_changed" in line
    assert "[recipient_refused {'smtp_code': 550}]" in line
    assert "u…@example.test" in line and user.email not in text


def test_outbox_retry_sends_a_failed_email_once_the_server_takes_it(user, smtp, poll_queue, settings):
    smtp.refuse()
    row = notice(user)
    engine.deliver_due()
    accept_again(smtp)
    settings.ACCOUNTS_DELIVERY_QUEUE = "inline"  # the retry's dispatch sends it here and now

    text = outbox("--retry", str(row.pk))

    assert f"Queued again: [{row.pk}]" in text
    row.refresh_from_db()
    assert row.state == "sent" and len(smtp.received) == 1
    assert outbox("--retry", str(row.pk)).endswith(f"Not queued (not failed/dead, or a text whose code is gone): "
                                                   f"[{row.pk}]\n")


def test_outbox_retry_refuses_a_text_whose_code_is_gone(sms_user_with_failed_text):
    row = sms_user_with_failed_text

    assert "Not queued" in outbox("--retry", str(row.pk))
    row.refresh_from_db()
    assert row.state == "failed" and row.payload == ""


@pytest.fixture
def sms_user_with_failed_text(user, fake_twilio, settings):
    from mfa.sms import challenges
    from tests.mfa.sms.conftest import NUMBER, enrol_sms, flow_request

    settings.MFA_SMS_BACKEND = "outbox"  # set up through the outbox gateway, which enrol_sms reads
    enrol_sms(user)
    settings.MFA_SMS_BACKEND = "twilio"
    fake_twilio.fail_next(21211)
    challenges.send_code(flow_request(), user=user, purpose="sign_in", nonce="attempt-1", number=NUMBER,
                         device=challenges.active_device(user))
    return Delivery.objects.get(kind="sms:sign_in")


def test_a_batch_that_cannot_reach_the_server_tries_to_connect_once(make_user, smtp, poll_queue, settings):
    rows = [notice(make_user()) for _ in range(3)]
    hang(smtp, settings)

    assert engine.deliver_due() == {"retry": 3}

    assert len(smtp._held) == 1  # one connection waited out its timeout, not three
    assert {row.last_error for row in Delivery.objects.filter(pk__in=[r.pk for r in rows])} == {"timeout"}


def test_staff_see_the_outbox_read_only_in_the_admin_without_payloads(client, make_user, smtp, poll_queue):
    staff = User.objects.create_superuser("ops@example.test", "correct horse battery staple 42", name="Ops")
    smtp.refuse()
    notice(make_user("alice@example.test"))
    engine.deliver_due()
    assert sign_in(client, staff).status_code == 302

    listing = client.get("/admin/accounts/delivery/")

    page = listing.content.decode()
    assert listing.status_code == 200 and "recipient_refused" in page and "a…@example.test" in page
    assert "alice@example.test" not in page
    row = Delivery.objects.get(to="alice@example.test")
    body = json.loads(row.payload)["body"]  # kept on a failed email, for --retry
    detail = client.get(f"/admin/accounts/delivery/{row.pk}/change/").content.decode()
    assert "recipient_refused" in detail and body.splitlines()[0] not in detail and "gAAAA" not in detail
    assert client.post(f"/admin/accounts/delivery/{row.pk}/delete/").status_code == 403


def test_member_without_staff_rights_cannot_open_the_admin_outbox(client, user):
    assert sign_in(client, user).status_code == 302

    response = client.get("/admin/accounts/delivery/")

    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    refused = client.get(response.url)  # no bounce back to our sign-in: they are signed in
    assert refused.status_code == 403 and "You do not have permission" in refused.content.decode()
