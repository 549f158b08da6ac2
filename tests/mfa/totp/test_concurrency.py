"""Races on PostgreSQL: two requests at the same instant, as two app servers would send them."""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from mfa.totp import flows
from mfa.totp.models import TOTPDevice
from tests.concurrency import run_concurrently
from tests.conftest import PASSWORD
from tests.mfa.totp.conftest import code_for, enrol, flow_request

VERIFY = "/account/login/verify/"


def half_signed_in_client(user) -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == VERIFY
    return client


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_same_code_posted_twice_at_once_signs_in_exactly_once(user):
    device = enrol(user)
    clients = [half_signed_in_client(user), half_signed_in_client(user)]
    code = code_for(device)

    responses = run_concurrently(lambda i: clients[i].post(VERIFY, {"code": code}))

    assert not [r for r in responses if isinstance(r, Exception)], responses
    signed_in = [r for r in responses if r.status_code == 302]
    refused = [r for r in responses if r.status_code == 200]
    assert len(signed_in) == 1 and len(refused) == 1
    assert signed_in[0].url == "/account/profile/"
    assert "That code was already used." in refused[0].content.decode()
    assert AuditEvent.objects.filter(event_type="signin.succeeded", actor=user).count() == 1
    failure = AuditEvent.objects.get(event_type=flows.TOTP_VERIFICATION_FAILED)
    assert failure.data["error"] == "code_reused" and failure.data["purpose"] == "sign_in"
    assert TOTPDevice.objects.get(pk=device.pk).last_t == device.last_t + 1


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_same_code_checked_by_many_workers_at_once_is_accepted_once(user):
    device = enrol(user)
    code = code_for(device)

    outcomes = run_concurrently(lambda i: TOTPDevice.objects.get(pk=device.pk).check_code(code), threads=4)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(o.ok for o in outcomes) == [False, False, False, True]
    # A loser that arrives after another loser's failure may find the wait
    # already running; either way it is refused.
    assert {o.error for o in outcomes if not o.ok} <= {"code_reused", "throttled"}
    # Every refused replay counted as a failure: none was lost in the race.
    reused = sum(o.error == "code_reused" for o in outcomes)
    assert reused >= 1
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == reused


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_burst_of_simultaneous_guesses_gets_one_try_then_the_wait(user, settings):
    settings.MFA_TOTP_THROTTLE_FACTOR = 60  # longer than any thread could lag behind the others
    device = enrol(user)
    window = {code_for(device, steps=s) for s in (-1, 0, 1)}
    guesses = [c for c in ("000000", "111111", "222222", "333333", "444444") if c not in window][:4]

    results = run_concurrently(lambda i: flows.verify_code(
        flow_request(), user=user, code=guesses[i], purpose="sign_in"), threads=4)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.error for r in results) == ["incorrect_code", "throttled", "throttled", "throttled"]
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 1
    assert AuditEvent.objects.filter(event_type=flows.TOTP_VERIFICATION_FAILED).count() == 4


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_same_setup_confirmed_twice_at_once_enables_once(user):
    pending = flows.start_enrolment(flow_request(user), user=user)
    code = code_for(pending)

    outcomes = run_concurrently(lambda i: flows.confirm_enrolment(
        flow_request(user), user=user, setup_id=pending.setup_id, code=code))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(o.ok for o in outcomes) == [False, True]
    assert [o.error for o in outcomes if not o.ok] == ["setup_invalid"]
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert AuditEvent.objects.filter(event_type=flows.TOTP_ENABLED).count() == 1
