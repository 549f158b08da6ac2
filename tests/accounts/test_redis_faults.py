"""Redis down or restarted: what users see, and which limits hold.

Each test runs its own redis-server (tests/servers.py) as the cache and stops
or restarts only that one. Per-account failure counts are in the database, so
a restart lifts no lock-out; the per-IP sign-in limit is in the cache and
fails closed (a 503 page) while Redis is down. Signed-in pages fall back to
the database for the two-factor policy.
"""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.ratelimit import Limit
from agencies import flows as agency_flows
from agencies import policy
from ctm_auth.faults import CacheUnavailable
from mfa.totp.models import TOTPDevice
from tests.agencies.policy_helpers import policy_form
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, let_step_up_window_pass, sign_in
from tests.mfa.totp.conftest import code_for, enrol, reauthenticate_with_totp, sign_in_with_totp

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

LOGIN = "/account/login/"
PROFILE = "/account/profile/"
REAUTH = "/account/reauthenticate/"
SENSITIVE = "/mfa/default/"  # behind step-up re-authentication
SET_UP = "/account/two-factor-required/"
TOTP_START = "/mfa/totp/start/"
TOTP_SETUP = "/mfa/totp/setup/"
TOTP_DISABLE = "/mfa/totp/disable/"
WRONG = "not the password at all"


def assert_briefly_unavailable(response) -> None:
    html = response.content.decode()
    assert response.status_code == 503
    assert "Briefly unavailable" in html
    assert "nothing was changed" in html
    assert "Traceback" not in html and "Error" not in html
    assert response["Retry-After"].isdigit()


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def assert_too_many_attempts(response) -> None:
    assert response.status_code == 200
    errors = form_errors(response)
    assert len(errors) == 1 and errors[0].startswith("Too many attempts. Try again in "), errors


def reauth(client, *, password: str = PASSWORD, code: str | None = FAKE_CODE):
    data = {"password": password, "next": SENSITIVE}
    if code is not None:
        data["code"] = code
    return client.post(REAUTH, data)


def policy_url(agency) -> str:
    return reverse("agencies:security_policy", args=[agency.pk])


# -- Redis down: sign-in fails closed --------------------------------------------------

def test_sign_in_while_redis_is_down_shows_briefly_unavailable_and_signs_nobody_in(client, user, redis_server):
    redis_server.stop()

    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD})

    assert_briefly_unavailable(response)
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(event_type="signin.succeeded").exists()


def test_sign_in_with_wrong_password_while_redis_is_down_checks_no_password(client, user, redis_server):
    redis_server.stop()

    response = client.post(LOGIN, {"email": user.email, "password": WRONG})

    # The same page as for the right password: nothing tells a guess apart.
    assert_briefly_unavailable(response)
    assert not AuditEvent.objects.filter(event_type="signin.failed").exists()


def test_sign_in_after_redis_comes_back_works(client, user, redis_server):
    redis_server.stop()
    assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).status_code == 503

    redis_server.start()

    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == PROFILE
    assert client.session["_auth_user_id"] == str(user.pk)


# -- Redis down: signed-in pages keep working, the policy stays enforced ----------------

def test_profile_while_redis_is_down_still_shows(client, user_with_mfa, redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    redis_server.stop()

    response = client.get(PROFILE)

    assert response.status_code == 200
    assert user_with_mfa.email in response.content.decode()


def test_agency_page_under_required_two_factor_while_redis_is_down_still_shows(client, acme, redis_server):
    add_fake_device(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    assert sign_in(client, acme.owner).status_code == 302
    redis_server.stop()

    response = client.get(reverse("settings:manage_users", args=[acme.agency.pk]))

    assert response.status_code == 200
    assert "bob@acme.test" in response.content.decode()


def test_member_without_two_factor_while_redis_is_down_is_still_sent_to_set_up(client, acme, redis_server):
    add_fake_device(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    assert sign_in(client, acme.bob, code=None).status_code == 302
    redis_server.stop()

    response = client.get(PROFILE)

    assert response.status_code == 302 and response.url == SET_UP
    page = client.get(SET_UP)
    assert page.status_code == 200
    assert "Set up two-factor authentication" in page.content.decode()


def test_turning_the_policy_on_while_redis_is_down_applies_at_once(acme, redis_server,
                                                                    django_capture_on_commit_callbacks):
    add_fake_device(acme.owner)
    owner, bob = Client(), Client()
    assert sign_in(owner, acme.owner).status_code == 302
    assert reauth(owner).status_code == 302
    assert sign_in(bob, acme.bob, code=None).status_code == 302
    assert bob.get(PROFILE).status_code == 200  # "not required" is now cached in Redis
    redis_server.stop()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="0",
                                                                   confirm="1", acknowledged="1"))

    assert response.status_code == 302
    assert bob.get(PROFILE).url == SET_UP


# -- Redis down: step-up re-authentication counts in the database -----------------------

def test_reauthenticate_while_redis_is_down_works(client, user_with_mfa, redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    redis_server.stop()

    response = reauth(client)

    assert response.status_code == 302 and response.url == SENSITIVE
    page = client.get(SENSITIVE)
    assert page.status_code == 200
    assert "Choose which authentication method to use" in page.content.decode()


def test_reauthenticate_with_wrong_password_while_redis_is_down_is_still_counted(client, user_with_mfa,
                                                                                 redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()  # the sign-in's own window
    redis_server.stop()

    for _ in range(10):
        assert form_errors(reauth(client, password=WRONG)) == ["Incorrect password."]

    assert_too_many_attempts(reauth(client))
    assert client.get(SENSITIVE).status_code == 302  # still not re-authenticated


# -- Redis down: device changes are saved ------------------------------------------------

def test_enrolling_a_method_while_redis_is_down_saves_it_and_lifts_the_policy(
        client, acme, redis_server, django_capture_on_commit_callbacks):
    add_fake_device(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    assert sign_in(client, acme.bob, code=None).status_code == 302
    redis_server.stop()
    assert client.get(PROFILE).url == SET_UP
    assert client.post(REAUTH, {"password": PASSWORD, "next": TOTP_START}).status_code == 302

    assert client.post(TOTP_START).url == TOTP_SETUP
    pending = TOTPDevice.objects.get(user=acme.bob, confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(TOTP_SETUP, {"setup_id": pending.setup_id, "code": code_for(pending)})

    # A first method: set-up goes on to the new backup codes, and the policy lets the member through.
    assert response.status_code == 302 and response.url == "/mfa/backup_codes/new/"
    assert "Google Authenticator is on." in client.get(response.url).content.decode()
    assert client.get(PROFILE).status_code == 200


def test_removing_a_method_while_redis_is_down_removes_it(client, user, redis_server, clock,
                                                          django_capture_on_commit_callbacks):
    device = enrol(user)
    assert sign_in_with_totp(client, user, device).status_code == 302
    clock.advance(device.step)  # the sign-in used this time-step's code
    redis_server.stop()
    assert reauthenticate_with_totp(client, device).status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(TOTP_DISABLE)

    assert response.status_code == 302 and response.url == PROFILE
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert client.get(PROFILE).status_code == 200


# -- Redis restarted: lock-outs are still there -----------------------------------------

def test_sign_in_lock_out_survives_a_redis_restart(client, user, redis_server):
    for _ in range(10):
        response = client.post(LOGIN, {"email": user.email, "password": WRONG})
        assert form_errors(response) == ["Incorrect email or password."]

    redis_server.restart()

    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert_too_many_attempts(response)
    assert "_auth_user_id" not in client.session


def test_known_browser_lock_out_survives_a_redis_restart(client, user, redis_server):
    assert sign_in(client, user).status_code == 302  # this browser is now a known device
    client.post(reverse("accounts:logout"))
    for _ in range(10):
        client.post(LOGIN, {"email": user.email, "password": WRONG})

    redis_server.restart()

    assert_too_many_attempts(client.post(LOGIN, {"email": user.email, "password": PASSWORD}))
    assert "_auth_user_id" not in client.session


def test_reauthenticate_lock_out_survives_a_redis_restart(client, user_with_mfa, redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()  # the sign-in's own window
    for _ in range(10):
        assert form_errors(reauth(client, password=WRONG)) == ["Incorrect password."]

    redis_server.restart()

    assert_too_many_attempts(reauth(client))
    assert client.get(SENSITIVE).status_code == 302  # still not re-authenticated


def test_sign_ins_refused_during_an_outage_spend_no_account_slot(client, user, redis_server):
    """Eleven 503s while Redis is down, then Redis is back: the right password still signs in."""
    redis_server.stop()
    for _ in range(11):
        assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).status_code == 503

    redis_server.start()

    assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).status_code == 302
    assert client.session.get("_auth_user_id") == str(user.pk)


# -- the pieces: the cache limit fails closed, refunds and forgetting never raise --------

def test_cache_limit_while_redis_is_down_refuses_to_count(redis_server):
    limit = Limit("test-cache", 3, 600)
    redis_server.stop()

    for check in (limit.take, limit.hit, limit.consume, limit.retry_after):
        with pytest.raises(CacheUnavailable):
            check("203.0.113.7")


def test_cache_limit_refunds_while_redis_is_down_do_not_raise(redis_server):
    limit = Limit("test-cache", 3, 600)
    _wait, bucket = limit.take("203.0.113.7")
    redis_server.stop()

    limit.give_back("203.0.113.7", bucket)
    limit.reset("203.0.113.7")


def test_policy_while_redis_is_down_is_read_from_the_database(acme, redis_server, caplog):
    add_fake_device(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    redis_server.stop()

    policy.forget_user(acme.bob.pk)
    policy.forget_agency(acme.agency)

    assert policy.requirement_for(acme.bob).enforced()
    assert not policy.requirement_for(acme.owner).enforced()
    # The operator is told, once per call, without a traceback.
    warnings = [r for r in caplog.records if r.name == "agencies.policy"]
    assert [r.levelname for r in warnings] == ["WARNING"] * 4
    assert all("cache unavailable" in r.getMessage() and r.exc_info is None for r in warnings)


def test_a_page_while_redis_is_down_asks_it_for_the_users_answers_once(acme, redis_server, caplog):
    """The policy, the agency's time zone and the Settings menu are computed without a second wait on a dead cache."""
    client = Client()
    add_fake_device(acme.owner)
    assert sign_in(client, acme.owner).status_code == 302
    redis_server.stop()

    response = client.get(PROFILE)

    assert response.status_code == 200 and acme.owner.email in response.content.decode()
    reads = [r for r in caplog.records if "could not read an answer" in r.getMessage()]
    assert len(reads) == 1
