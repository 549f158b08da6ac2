"""Refused passkey answers are counted: per client IP without a password, per account at step 2 and step-up."""
import pytest
from django.core.cache import cache

from accounts import audit
from tests.conftest import PASSWORD, let_step_up_window_pass
from tests.mfa.webauthn.conftest import (
    LOGIN,
    MANAGE,
    answer_step_2,
    events,
    html,
    key_of,
    sign_in_options,
    sign_in_with_passkey,
    sign_out,
    signed_in_user,
    start_sign_in,
    step_2_options,
    step_up,
    step_up_options,
)

pytestmark = pytest.mark.django_db

UNREADABLE = "Your browser's answer could not be read."
PAUSED = "Too many attempts. Try again in"  # fixed windows: the minutes left vary
OTHER_IP = "198.51.100.9"


@pytest.fixture
def signed_out(client, user_with_key):
    sign_out(client)
    return client


@pytest.fixture
def three_per_ip(settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = (3, 15 * 60)


@pytest.fixture
def three_per_account(settings):
    settings.MFA_WEBAUTHN_FAILURES_PER_USER = (3, 15 * 60)


def fail_passwordless(client, times: int) -> None:
    for _ in range(times):
        sign_in_options(client)
        response = sign_in_with_passkey(client, "{not json")
        assert response.status_code == 400 and UNREADABLE in html(response)


# -- without a password: the client IP's sign-in budget -----------------------------------

def test_passwordless_failures_use_up_the_ip_budget_then_even_a_good_answer_waits(
        signed_out, user_with_key, authenticator, three_per_ip):
    fail_passwordless(signed_out, 3)

    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out)))

    assert response.status_code == 400 and PAUSED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert key_of(user_with_key).sign_count == 0  # the answer was not even read
    throttled = events(audit.SIGN_IN_THROTTLED).get()
    assert throttled.method == "webauthn" and throttled.data["retry_after"] > 0


def test_passwordless_failures_and_wrong_passwords_share_one_ip_budget(signed_out, user_with_key, three_per_ip):
    fail_passwordless(signed_out, 2)
    assert "Incorrect email or password." in html(
        signed_out.post(LOGIN, {"email": user_with_key.email, "password": "wrong"}))

    response = signed_out.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD})

    assert PAUSED in html(response)
    assert not signed_in_user(signed_out).is_authenticated


def test_passwordless_pause_is_per_ip(signed_out, user_with_key, authenticator, three_per_ip):
    fail_passwordless(signed_out, 3)

    options = signed_out.post("/account/login/with/webauthn/options/", REMOTE_ADDR=OTHER_IP).json()
    response = signed_out.post("/account/login/with/webauthn/", {"answer": authenticator.get(options)},
                               REMOTE_ADDR=OTHER_IP)

    assert response.status_code == 302 and signed_in_user(signed_out) == user_with_key


def test_a_good_passwordless_answer_hands_its_slot_back(signed_out, user_with_key, authenticator, three_per_ip):
    fail_passwordless(signed_out, 2)
    assert sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out))).status_code == 302
    sign_out(signed_out)

    # 2 failures and a success: the budget still has one slot (the success took none).
    fail_passwordless(signed_out, 1)
    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out)))

    assert response.status_code == 400 and PAUSED in html(response)


def test_passwordless_failures_do_not_lock_the_account_out(signed_out, user_with_key, three_per_ip, settings):
    """Junk posted at someone's key id from elsewhere must not pause the owner's own sign-in."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (3, 15 * 60)
    fail_passwordless(signed_out, 3)

    response = signed_out.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD}, REMOTE_ADDR=OTHER_IP)

    assert response.status_code == 302


# -- step 2 and step-up: the account's budget for passkey answers ------------------------

def test_step_2_failures_use_up_the_accounts_budget_then_even_a_good_answer_waits(
        signed_out, user_with_key, authenticator, three_per_account):
    start_sign_in(signed_out, user_with_key)
    for _ in range(3):
        step_2_options(signed_out)
        assert UNREADABLE in html(answer_step_2(signed_out, "{not json"))

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out)))

    assert response.status_code == 200 and PAUSED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert key_of(user_with_key).sign_count == 0
    assert events(audit.SIGN_IN_SECOND_FACTOR_FAILED).latest("pk").data["error"] == "throttled"


def test_the_step_2_pause_survives_a_cache_flush_and_holds_in_another_browser(
        signed_out, user_with_key, authenticator, three_per_account):
    from django.test import Client

    start_sign_in(signed_out, user_with_key)
    for _ in range(3):
        step_2_options(signed_out)
        answer_step_2(signed_out, "[]")
    cache.clear()  # a Redis restart
    elsewhere = Client()
    start_sign_in(elsewhere, user_with_key)

    response = answer_step_2(elsewhere, authenticator.get(step_2_options(elsewhere)))

    assert PAUSED in html(response) and not signed_in_user(elsewhere).is_authenticated


def test_the_step_2_pause_ends_with_its_window(signed_out, user_with_key, authenticator, three_per_account, clock):
    start_sign_in(signed_out, user_with_key)
    for _ in range(3):
        step_2_options(signed_out)
        answer_step_2(signed_out, "[]")
    clock.advance(15 * 60 + 1)
    assert signed_out.get("/account/login/verify/").url == LOGIN  # the half-done sign-in expired too
    start_sign_in(signed_out, user_with_key)

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out)))

    assert response.status_code == 302 and signed_in_user(signed_out).is_verified()


def test_a_good_step_2_answer_hands_its_slot_back(signed_out, user_with_key, authenticator, three_per_account):
    start_sign_in(signed_out, user_with_key)
    for _ in range(2):
        step_2_options(signed_out)
        answer_step_2(signed_out, "[]")
    assert answer_step_2(signed_out, authenticator.get(step_2_options(signed_out))).status_code == 302
    sign_out(signed_out)
    start_sign_in(signed_out, user_with_key)
    step_2_options(signed_out)
    answer_step_2(signed_out, "[]")

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out)))

    assert PAUSED in html(response)


def test_step_up_failures_count_against_the_same_budget(user_with_key, reauthenticated_client, authenticator,
                                                        three_per_account):
    let_step_up_window_pass()
    for _ in range(3):
        step_up_options(reauthenticated_client)
        response = step_up(reauthenticated_client, "{not json")
        assert response.status_code == 200 and UNREADABLE in html(response)

    response = step_up(reauthenticated_client, authenticator.get(step_up_options(reauthenticated_client)))

    assert response.status_code == 200 and PAUSED in html(response)
    assert reauthenticated_client.get(MANAGE).status_code == 302
    assert events(audit.REAUTH_FAILED).latest("pk").data["error"] == "throttled"
    # The pause is the account's: step 2 in another sign-in waits as well.
    sign_out(reauthenticated_client)
    start_sign_in(reauthenticated_client, user_with_key)
    assert PAUSED in html(answer_step_2(reauthenticated_client,
                                        authenticator.get(step_2_options(reauthenticated_client))))
