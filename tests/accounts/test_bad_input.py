"""Bad input at sign-in: a clear 4xx or form error, never a 500, and nothing changed."""
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.conftest import FAKE_CODE, PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"
FORM = "application/x-www-form-urlencoded"
HUGE = "a" * 10_000


def raw_post(client, path: str, body: bytes):
    """POST a body exactly as given, as a broken or hostile client might send it."""
    return client.post(path, data=body, content_type=FORM)


def all_errors(response) -> list[str]:
    form = response.context["form"]
    return [error for errors in form.errors.values() for error in errors]


def assert_nothing_changed(client, user) -> None:
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(event_type="signin.succeeded").exists()


@pytest.mark.parametrize("data, field, message", [
    ({"email": "", "password": ""}, "email", "This field is required."),
    ({"email": "", "password": PASSWORD}, "email", "This field is required."),
    ({"email": "user@example.test", "password": ""}, "password", "This field is required."),
    ({}, "password", "This field is required."),
    ({"email": HUGE + "@example.test", "password": PASSWORD}, "email", "at most 254 characters"),
    ({"email": "user@example.test", "password": HUGE}, "password", "at most 4096 characters"),
    ({"email": "not an email", "password": PASSWORD}, "email", "Enter a valid email address."),
])
def test_sign_in_with_empty_or_oversized_input_shows_form_error(client, user, data, field, message):
    response = client.post(LOGIN, data)

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    assert message.split(" (")[0] in response.content.decode()
    assert_nothing_changed(client, user)
    assert not AuditEvent.objects.exists()  # refused before any account was looked at


@pytest.mark.parametrize("body", [
    b"email=\xff\xfe\xfd%40example.test&password=correct+horse+battery+staple+42",
    b"email=%FF%FE%40example.test&password=correct+horse+battery+staple+42",
    b"email=us\xc3\x28er%40example.test&password=x",
])
def test_sign_in_with_non_utf8_email_shows_form_error(client, user, body):
    response = raw_post(client, LOGIN, body)

    assert response.status_code == 200
    assert "Enter a valid email address." in response.context["form"].errors["email"]
    assert_nothing_changed(client, user)


@pytest.mark.parametrize("body", [
    b"email=user%40example.test&password=\xff\xfe\xfd\xfc\x80\x81\x82\x83\x84\x85\x86\x87",
    b"email=user%40example.test&password=%FF%FE%FD%FC%80%81%82%83%84%85%86%87",
])
def test_sign_in_with_non_utf8_password_is_a_wrong_password(client, user, body):
    response = raw_post(client, LOGIN, body)

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == ["Incorrect email or password."]
    assert_nothing_changed(client, user)
    assert AuditEvent.objects.filter(event_type="signin.failed", target_user=user).count() == 1


def test_sign_in_with_garbage_body_shows_form_errors(client, user):
    response = raw_post(client, LOGIN, b"\x00\x01\x02&&&===\xff\xff")

    assert response.status_code == 200
    assert "This field is required." in all_errors(response)
    assert_nothing_changed(client, user)


@pytest.mark.parametrize("code, message", [
    ("", "Enter the code."),
    ("9" * 10_000, "at most 64 characters"),
])
def test_second_step_with_empty_or_oversized_code_shows_form_error(client, user_with_mfa, code, message):
    client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD})

    response = client.post(VERIFY, {"code": code})

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["code"])
    assert_nothing_changed(client, user_with_mfa)


def test_second_step_with_non_utf8_code_shows_form_error(client, user_with_mfa):
    client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD})

    response = raw_post(client, VERIFY, b"code=\xff\xfe4242")

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Incorrect code."]
    assert_nothing_changed(client, user_with_mfa)


def assert_form_expired_page(response) -> None:
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your form expired" in page
    assert "Go back, reload the page and try again." in page


def test_sign_in_without_csrf_token_shows_form_expired_page(user):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD})

    assert_form_expired_page(response)
    assert_nothing_changed(client, user)
    assert not AuditEvent.objects.exists()


def test_sign_in_with_csrf_token_from_page_succeeds(user):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_second_step_without_csrf_token_shows_form_expired_page(user_with_mfa):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD, "csrfmiddlewaretoken": token})

    response = client.post(VERIFY, {"code": FAKE_CODE})

    assert_form_expired_page(response)
    assert_nothing_changed(client, user_with_mfa)


def test_sign_out_without_csrf_token_keeps_session(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("accounts:logout"))

    assert_form_expired_page(response)
    assert client.get(PROFILE).status_code == 200


@pytest.mark.parametrize("next_url", [
    "/no/such/page/",
    "no-leading-slash",
    "profile",
    "accounts:logout",
    "/account/profile/\r\nSet-Cookie: injected=1",
    "/%00",
    "/" + "x" * 10_000,
    "http://testserver.evil.example/",
    "ftp://testserver/",
    "\\\\evil.example",
    "http://[::1",
])
def test_sign_in_with_unknown_next_never_errors_or_leaves_site(client, user_with_mfa, next_url):
    assert client.get(LOGIN, {"next": next_url}).status_code == 200
    response = client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD, "next": next_url})
    assert response.status_code == 302 and response.url == VERIFY

    response = client.post(VERIFY, {"code": FAKE_CODE})

    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.scheme == "" and target.netloc == "", response.url
    assert "\n" not in response["Location"] and "\r" not in response["Location"]
    assert client.get(response.url).status_code in (200, 404)
    assert client.session["_auth_user_id"] == str(user_with_mfa.pk)


def test_second_step_replayed_after_sign_out_shows_sign_in_expired(client, user_with_mfa):
    client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD})
    half_signed_in_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.post(VERIFY, {"code": FAKE_CODE}).status_code == 302
    client.post(reverse("accounts:logout"))
    audit_rows = AuditEvent.objects.count()

    replay = client.post(VERIFY, {"code": FAKE_CODE})

    assert replay.status_code == 400
    assert "Sign-in expired" in replay.content.decode()
    assert "_auth_user_id" not in client.session
    # The same with the cookie of the half-signed-in session.
    client.cookies[settings.SESSION_COOKIE_NAME] = half_signed_in_key
    replay = client.post(VERIFY, {"code": FAKE_CODE})
    assert replay.status_code == 400
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.count() == audit_rows


def test_second_step_post_without_sign_in_shows_sign_in_expired(client):
    response = client.post(VERIFY, {"code": FAKE_CODE})

    assert response.status_code == 400
    assert "Sign-in expired" in response.content.decode()


@pytest.mark.parametrize("tamper", [
    lambda key: key[:-1] + ("a" if key[-1] != "a" else "b"),
    lambda key: key.upper(),
    lambda key: "",
    lambda key: "../../etc/passwd",
    lambda key: "x" * 5000,
    lambda key: key + "'; DROP TABLE django_session; --",
])
def test_tampered_session_cookie_is_treated_as_signed_out(signed_in_client, tamper):
    key = signed_in_client.cookies[settings.SESSION_COOKIE_NAME].value
    signed_in_client.cookies[settings.SESSION_COOKIE_NAME] = tamper(key)

    response = signed_in_client.get(PROFILE)

    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse("accounts:login")
    assert response.wsgi_request.user.is_anonymous
    # The real session is untouched: its own cookie still works.
    signed_in_client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert signed_in_client.get(PROFILE).status_code == 200
