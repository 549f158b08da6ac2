"""Failed sign-ins: limits per account and per IP, no user enumeration, audit rows."""
import re

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.views import too_many_attempts_message
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
WINDOW = 600
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
TOO_MANY = re.compile(r"Too many attempts\. Try again in (\d+) minutes?\.")


def attempt(client, email: str, password: str, *, ip: str = "198.51.100.7", agent: str = BROWSER):
    return client.post(LOGIN, {"email": email, "password": password},
                       REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def assert_throttled(response, *, max_minutes: int) -> None:
    assert response.status_code == 200
    errors = form_errors(response)
    assert len(errors) == 1
    match = TOO_MANY.fullmatch(errors[0])
    assert match, errors
    assert 1 <= int(match[1]) <= max_minutes
    assert errors[0] in response.content.decode()


def assert_signed_in(client, user) -> None:
    assert client.session.get("_auth_user_id") == str(user.pk)


@pytest.fixture
def small_limits(settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (3, WINDOW)
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = (5, WINDOW)
    return settings


def test_sign_in_after_account_limit_is_blocked_even_with_right_password(client, user, small_limits, clock):
    for _ in range(3):
        assert form_errors(attempt(client, user.email, "wrong password again")) == ["Incorrect email or password."]

    response = attempt(client, user.email, PASSWORD)

    assert_throttled(response, max_minutes=WINDOW // 60)
    assert "_auth_user_id" not in client.session
    clock.advance(WINDOW)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    assert_signed_in(client, user)


def test_sign_in_account_limit_counts_across_ips_and_email_case(client, user, small_limits):
    for number, email in enumerate(["user@example.test", "USER@example.test", "User@Example.Test"]):
        attempt(client, email, "wrong password again", ip=f"203.0.113.{number + 1}")

    assert_throttled(attempt(client, user.email, PASSWORD, ip="203.0.113.99"), max_minutes=WINDOW // 60)


def test_sign_in_after_ip_limit_is_blocked_for_every_account(client, user, make_user, small_limits, clock):
    for number in range(5):
        attempt(client, f"guess{number}@example.test", "some wrong password")

    response = attempt(client, user.email, PASSWORD)

    assert_throttled(response, max_minutes=WINDOW // 60)
    assert "_auth_user_id" not in client.session
    # Another client IP is not affected.
    assert attempt(client, user.email, PASSWORD, ip="198.51.100.8").status_code == 302
    client.post(reverse("accounts:logout"))
    clock.advance(WINDOW)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    assert_signed_in(client, user)


def test_sign_in_before_limit_with_right_password_succeeds_and_resets_count(client, user, small_limits):
    for _ in range(2):
        attempt(client, user.email, "wrong password again")
    assert attempt(client, user.email, PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))

    for _ in range(2):  # the two earlier failures no longer count
        attempt(client, user.email, "wrong password again")

    assert attempt(client, user.email, PASSWORD).status_code == 302


def test_sign_in_with_unknown_email_is_throttled_like_a_known_one(client, small_limits):
    for _ in range(3):
        attempt(client, "nobody@example.test", "some wrong password")

    assert_throttled(attempt(client, "nobody@example.test", "some wrong password"), max_minutes=WINDOW // 60)


def normalised_page(response, email: str) -> str:
    """The page with what legitimately differs removed: the CSRF token and the echoed email."""
    html = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)


def test_sign_in_with_unknown_email_gets_same_response_as_wrong_password(client, user):
    unknown = attempt(client, "nobody@example.test", "some wrong password")
    wrong = attempt(client, user.email, "some wrong password")

    assert unknown.status_code == wrong.status_code == 200
    assert form_errors(unknown) == form_errors(wrong) == ["Incorrect email or password."]
    assert unknown.context["form"].errors == wrong.context["form"].errors
    assert normalised_page(unknown, "nobody@example.test") == normalised_page(wrong, user.email)


@pytest.fixture
def argon2_calls(monkeypatch):
    """Count Argon2 work (hashing a new password, or verifying one against a hash)."""
    calls = {"encode": 0, "verify": 0}
    original_encode, original_verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def encode(self, password, salt):
        calls["encode"] += 1
        return original_encode(self, password, salt)

    def verify(self, password, encoded):
        calls["verify"] += 1
        return original_verify(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", verify)
    return calls


def test_sign_in_with_unknown_email_still_runs_the_hasher(client, user, argon2_calls):
    attempt(client, "nobody@example.test", "some wrong password")
    unknown_email_work = dict(argon2_calls)

    argon2_calls.update(encode=0, verify=0)
    attempt(client, user.email, "some wrong password")
    wrong_password_work = dict(argon2_calls)

    assert sum(unknown_email_work.values()) >= 1, unknown_email_work
    assert sum(wrong_password_work.values()) >= 1, wrong_password_work
    assert sum(unknown_email_work.values()) == sum(wrong_password_work.values())


def test_sign_in_failure_is_audited_with_method_ip_and_browser(client, user):
    attempt(client, "USER@example.test", "some wrong password", ip="198.51.100.23")

    event = AuditEvent.objects.get(event_type="signin.failed")
    assert event.actor is None
    assert event.target_user == user
    assert event.attempted_email == "user@example.test"
    assert event.method == "password"
    assert event.ip_address == "198.51.100.23"
    assert event.user_agent == BROWSER
    assert "some wrong password" not in str(event.data)


def test_sign_in_failure_with_unknown_email_is_audited_without_target(client):
    attempt(client, "nobody@example.test", "some wrong password")

    event = AuditEvent.objects.get(event_type="signin.failed")
    assert (event.actor, event.target_user) == (None, None)
    assert event.attempted_email == "nobody@example.test"
    assert event.method == "password"


def test_sign_in_success_is_audited_with_method_ip_and_browser(client, user):
    attempt(client, user.email, PASSWORD, ip="2001:db8::5")

    event = AuditEvent.objects.get(event_type="signin.succeeded")
    assert (event.actor, event.target_user) == (user, user)
    assert event.method == "password"
    assert event.ip_address == "2001:db8::5"
    assert event.user_agent == BROWSER


def test_sign_in_throttled_is_audited_with_method_ip_and_browser(client, user, small_limits):
    for _ in range(3):
        attempt(client, user.email, "wrong password again")

    attempt(client, user.email, PASSWORD, ip="198.51.100.77")

    event = AuditEvent.objects.get(event_type="signin.throttled")
    assert event.target_user == user
    assert event.actor is None
    assert event.method == "password"
    assert event.ip_address == "198.51.100.77"
    assert event.user_agent == BROWSER
    assert 0 < event.data["retry_after"] <= WINDOW
    assert AuditEvent.objects.filter(event_type="signin.failed").count() == 3
    assert not AuditEvent.objects.filter(event_type="signin.succeeded").exists()


def test_sign_in_as_deactivated_user_gets_same_error_as_wrong_password(client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = attempt(client, user.email, PASSWORD)

    assert form_errors(response) == ["Incorrect email or password."]
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("seconds, text", [
    (1, "Too many attempts. Try again in 1 minute."),
    (60, "Too many attempts. Try again in 1 minute."),
    (61, "Too many attempts. Try again in 2 minutes."),
    (900, "Too many attempts. Try again in 15 minutes."),
])
def test_too_many_attempts_message_rounds_wait_up_to_minutes(seconds, text):
    assert too_many_attempts_message(seconds) == text
