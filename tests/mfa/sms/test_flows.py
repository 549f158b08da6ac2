"""Sending and checking codes through the flows: after commit, once, bound, expiring."""
import pytest
from django.db import transaction

from accounts.models import AuditEvent
from mfa.sms import flows
from mfa.sms.delivery import SENT
from mfa.sms.models import OutboxMessage, SMSChallenge
from tests.mfa.sms.conftest import NUMBER, enrol_sms, flow_request, last_code, last_text, texts_to

pytestmark = pytest.mark.django_db(transaction=True)


def send(user, *, purpose="sign_in", nonce="attempt-1", number=NUMBER, request=None):
    device = flows.active_device(user)
    return flows.send_code(request or flow_request(), user=user, purpose=purpose, nonce=nonce, number=number,
                           device=device)


def check(user, code, *, purpose="sign_in", nonce="attempt-1"):
    return flows.check_code(user=user, purpose=purpose, nonce=nonce, code=code, device=flows.active_device(user))


def test_send_stores_only_a_keyed_hash_of_the_code(sms_user):
    assert send(sms_user).sent
    code = last_code()

    row = SMSChallenge.objects.get(user=sms_user, purpose="sign_in")
    stored = " ".join(str(value) for value in row.__dict__.values())
    assert code not in stored
    assert "attempt-1" not in stored  # the binding is hashed too
    assert len(row.code_hash) == 64


def test_text_is_sent_only_after_the_transaction_commits(sms_user):
    before = texts_to(NUMBER)
    with transaction.atomic():
        outcome = send(sms_user)
        assert outcome.sent and texts_to(NUMBER) == before
    assert texts_to(NUMBER) == before + 1


def test_rolled_back_transaction_sends_nothing(sms_user):
    before = texts_to(NUMBER)

    with pytest.raises(RuntimeError), transaction.atomic():
        send(sms_user)
        raise RuntimeError("something later in the request failed")

    assert texts_to(NUMBER) == before
    assert not SMSChallenge.objects.filter(user=sms_user, purpose="sign_in").exists()


def test_text_reads_as_agreed_with_origin_bound_line(sms_user):
    send(sms_user)

    code = last_code()
    assert last_text().body == f"Your CallTrackingMetrics verification code is {code}.\n\n@testserver #{code}"


def test_text_origin_host_can_be_set(sms_user, settings):
    settings.MFA_SMS_ORIGIN_HOST = "app.calltrackingmetrics.example"

    send(sms_user)

    assert last_text().body.endswith(f"\n@app.calltrackingmetrics.example #{last_code()}")


def test_code_works_once(sms_user):
    send(sms_user)
    code = last_code()

    assert check(sms_user, code).ok
    second = check(sms_user, code)
    assert not second.ok and second.error == "used"


def test_code_with_space_inside_is_accepted(sms_user):
    send(sms_user)
    code = last_code()

    assert check(sms_user, f"{code[:3]} {code[3:]}").ok


def test_code_expires_after_validity(sms_user, clock):
    send(sms_user)
    code = last_code()

    clock.advance(5 * 60 + 1)

    result = check(sms_user, code)
    assert not result.ok and result.error == "expired"


def test_code_still_works_just_before_expiry(sms_user, clock):
    send(sms_user)
    clock.advance(5 * 60 - 5)

    assert check(sms_user, last_code()).ok


def test_validity_is_a_setting(sms_user, clock, settings):
    settings.MFA_SMS_CODE_VALIDITY = 60
    send(sms_user)
    clock.advance(61)

    assert check(sms_user, last_code()).error == "expired"


def test_code_is_dead_after_five_wrong_tries(sms_user):
    send(sms_user)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"

    results = [check(sms_user, wrong) for _ in range(5)]

    assert [r.tries_left for r in results[:4]] == [4, 3, 2, 1]
    assert results[4].error == "dead"
    assert check(sms_user, code).error == "dead"  # even the right code


def test_wrong_format_is_not_counted_as_a_try(sms_user):
    send(sms_user)

    for typed in ("12345", "abcdef", "１２３４５６", "1234567"):
        assert check(sms_user, typed).error == "invalid_format"

    assert SMSChallenge.objects.get(user=sms_user, purpose="sign_in").failures == 0
    assert check(sms_user, last_code()).ok


def test_new_code_replaces_old_and_keeps_failure_count(sms_user, clock, next_codes):
    next_codes("111111", "222222")
    send(sms_user)
    for _ in range(3):
        check(sms_user, "999999")
    clock.advance(31)  # past the resend cooldown

    assert send(sms_user).sent

    row = SMSChallenge.objects.get(user=sms_user, purpose="sign_in")
    assert row.failures == 3 and row.sends == 2
    result = check(sms_user, "111111")  # the old code is gone, and trying it is a wrong try
    assert result.error == "incorrect_code" and result.tries_left == 1
    assert check(sms_user, "222222").ok


def test_resend_does_not_buy_more_tries(sms_user, clock, next_codes):
    next_codes("111111", "222222")
    send(sms_user)
    for _ in range(4):
        check(sms_user, "999999")
    clock.advance(31)
    send(sms_user)

    assert check(sms_user, "999999").error == "dead"
    assert check(sms_user, "222222").error == "dead"


def test_new_code_after_dead_one_starts_fresh(sms_user, clock):
    send(sms_user)
    wrong = "000000" if last_code() != "000000" else "111111"
    for _ in range(5):
        check(sms_user, wrong)
    clock.advance(31)

    send(sms_user)

    assert SMSChallenge.objects.get(user=sms_user, purpose="sign_in").failures == 0
    assert check(sms_user, last_code()).ok


def test_code_cannot_complete_another_sign_in_attempt(sms_user):
    send(sms_user, nonce="attempt-1")

    result = check(sms_user, last_code(), nonce="attempt-2")

    assert not result.ok and result.error == "no_code"
    assert check(sms_user, last_code(), nonce="attempt-1").ok


def test_sign_in_code_cannot_complete_reauthentication(sms_user):
    send(sms_user, purpose="sign_in", nonce="same-nonce")

    assert check(sms_user, last_code(), purpose="reauth", nonce="same-nonce").error == "no_code"


def test_code_cannot_complete_another_users_step(sms_user, make_user):
    other = make_user("other@example.test")
    enrol_sms(other)
    send(sms_user, nonce="attempt-1")
    code = last_code()

    result = flows.check_code(user=other, purpose="sign_in", nonce="attempt-1", code=code,
                              device=flows.active_device(other))

    assert not result.ok and result.error == "no_code"


def test_code_to_a_replaced_number_no_longer_counts(sms_user):
    send(sms_user)
    code = last_code()
    flows.active_device(sms_user).__class__.objects.filter(user=sms_user).update(number="+447400123456")

    assert check(sms_user, code).error == "no_code"


def test_send_is_audited_with_masked_number_and_no_code(sms_user):
    send(sms_user)

    event = AuditEvent.objects.filter(event_type=SENT, target_user=sms_user).first()
    assert event.data["to"] == "+1 •••-•••-2671"
    assert event.data["purpose"] == "sign_in"
    assert last_code() not in str(event.data)
    assert NUMBER not in str(event.data)


def test_failed_check_never_reveals_the_code(sms_user):
    send(sms_user)

    result = check(sms_user, "000000" if last_code() != "000000" else "111111")

    assert last_code() not in result.message


def test_outbox_gateway_keeps_the_text(sms_user):
    before = OutboxMessage.objects.count()

    send(sms_user)

    assert OutboxMessage.objects.count() == before + 1 and last_text().to == NUMBER
