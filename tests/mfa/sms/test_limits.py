"""Limits against cost and SMS pumping: cooldown, per user, per number, per IP, per agency."""
import pytest
from django.core.cache import cache

from accounts.models import AuditEvent
from mfa.sms import challenges, flows
from mfa.sms.delivery import SENT
from tests.mfa.sms.conftest import NUMBER, OTHER_NUMBER, enrol_sms, flow_request

pytestmark = pytest.mark.django_db(transaction=True)


def send(user, *, nonce="attempt-1", ip="203.0.113.7", purpose="sign_in"):
    device = flows.active_device(user)
    return flows.send_code(flow_request(ip=ip), user=user, purpose=purpose, nonce=nonce, number=device.number,
                           device=device)


@pytest.fixture
def enrolled(sms_user, day_start):
    cache.clear()  # the set-up text does not count for these tests
    return sms_user


def test_resend_waits_for_cooldown_then_sends(enrolled, clock):
    assert send(enrolled).sent

    refused = send(enrolled)
    assert refused.error == "cooldown" and refused.retry_after == 30
    assert refused.message == "Please wait 30 seconds before requesting another code."
    clock.advance(20)
    assert send(enrolled).retry_after == 10
    clock.advance(10)
    assert send(enrolled).sent


def test_cooldown_is_per_step_so_a_new_step_may_text_at_once(enrolled):
    assert send(enrolled, nonce="attempt-1").sent

    assert send(enrolled, purpose="reauth", nonce="session-nonce").sent


def test_cooldown_is_a_setting(enrolled, settings, clock):
    settings.MFA_SMS_RESEND_COOLDOWN = 5
    send(enrolled)
    clock.advance(5)

    assert send(enrolled).sent


def test_user_gets_at_most_five_texts_per_fifteen_minutes(enrolled, clock):
    outcomes = []
    for _ in range(6):
        outcomes.append(send(enrolled))
        clock.advance(31)

    assert [o.sent for o in outcomes] == [True] * 5 + [False]
    assert outcomes[5].error == "user_limit"
    assert "Try again in" in outcomes[5].message and "use another method" in outcomes[5].message
    clock.advance(15 * 60)
    assert send(enrolled).sent


def test_user_limit_counts_across_sign_in_attempts(enrolled):
    outcomes = [send(enrolled, nonce=f"attempt-{i}") for i in range(6)]  # new attempts skip the cooldown

    assert [o.error for o in outcomes] == [""] * 5 + ["user_limit"]


def test_number_has_a_daily_cap_across_users(enrolled, make_user, settings, clock):
    others = [make_user() for _ in range(3)]
    for other in others:
        enrol_sms(other, NUMBER)  # the same phone, three accounts
    cache.clear()
    settings.MFA_SMS_NUMBER_DAILY_LIMIT = 3

    outcomes = [send(u, ip=f"198.51.100.{i}") for i, u in enumerate([enrolled, *others])]

    assert [o.error for o in outcomes] == ["", "", "", "number_limit"]
    assert "This number has received too many codes today" in outcomes[3].message
    clock.advance(24 * 60 * 60)
    assert send(others[2], nonce="tomorrow").sent


def test_client_ip_has_a_daily_cap_across_users(enrolled, make_user, settings):
    other, third = make_user(), make_user()
    enrol_sms(other, OTHER_NUMBER)
    enrol_sms(third, "+33612345678")
    cache.clear()
    settings.MFA_SMS_IP_DAILY_LIMIT = 2

    outcomes = [send(u, ip="192.0.2.50") for u in (enrolled, other, third)]

    assert [o.error for o in outcomes] == ["", "", "ip_limit"]
    assert send(third, ip="192.0.2.51").sent  # another network is not blocked


def test_agency_has_a_daily_cap_across_its_users(acme, solo, settings, day_start):
    numbers = ["+14155550101", "+14155550102", "+14155550103", "+14155550104"]
    for member, number in zip((acme.alice, acme.bob, acme.admin, solo.owner), numbers, strict=True):
        enrol_sms(member, number)
    cache.clear()
    settings.MFA_SMS_AGENCY_DAILY_LIMIT = 2

    results = [send(m, ip=f"198.51.100.{i}").error for i, m in enumerate((acme.alice, acme.bob, acme.admin))]

    assert results == ["", "", "agency_limit"]
    assert send(solo.owner).sent  # another agency has its own budget


def test_refused_text_is_audited_without_sending(enrolled):
    send(enrolled)
    before = AuditEvent.objects.filter(event_type=SENT).count()

    send(enrolled)

    assert AuditEvent.objects.filter(event_type=SENT).count() == before
    event = AuditEvent.objects.filter(event_type=challenges.LIMITED).first()
    assert event.data == {"limit": "cooldown", "retry_after": 30, "purpose": "sign_in"}


def test_refusal_by_one_limit_takes_nothing_from_the_others(enrolled, settings, clock):
    settings.MFA_SMS_IP_DAILY_LIMIT = 1
    assert send(enrolled, ip="192.0.2.1").sent
    clock.advance(31)
    for _ in range(5):
        assert send(enrolled, ip="192.0.2.1").error == "ip_limit"
        clock.advance(31)

    outcomes = [send(enrolled, ip=f"192.0.2.{10 + i}", nonce=f"n{i}") for i in range(5)]

    # 1 text sent + 4 more = the user's 5; the IP refusals did not use the user's budget.
    assert [o.error for o in outcomes] == ["", "", "", "", "user_limit"]


def test_setting_up_someone_elses_number_cannot_spend_its_sign_in_budget(enrolled, make_user, settings):
    """An attacker "sets up" the victim's number until its cap; the victim still gets sign-in texts."""
    settings.MFA_SMS_NUMBER_DAILY_LIMIT = 2
    attacker = make_user()
    victim_number = flows.active_device(enrolled).number
    setups = [flows.send_code(flow_request(ip=f"198.51.100.{i}"), user=attacker, purpose="enrol",
                              nonce=f"setup-{i}", number=victim_number) for i in range(3)]
    assert [o.error for o in setups] == ["", "", "number_limit"]  # unproven numbers are still capped

    assert send(enrolled).sent
