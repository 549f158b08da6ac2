"""Step-up re-authentication ("sudo mode") in front of sensitive views."""
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.reauth import REAUTH_SESSION_KEY
from mfa.app_settings import app_settings as mfa_settings
from tests.accounts.helpers import redirect_parts
from tests.conftest import FAKE_CODE, PASSWORD, let_step_up_window_pass, sign_in

pytestmark = pytest.mark.django_db

REAUTH = "/account/reauthenticate/"
SENSITIVE = "/mfa/default/"  # "Choose which authentication method to use"


@pytest.fixture
def mfa_client(client, user_with_mfa):
    """Signed in through both steps, long enough ago that the sign-in's window closed."""
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()
    return client


def reauth(client, *, password: str = PASSWORD, code: str | None = FAKE_CODE, next_url: str = SENSITIVE, **extra):
    data = {"password": password, "next": next_url, **extra}
    if code is not None:
        data["code"] = code
    return client.post(REAUTH, data)


def assert_sent_to_reauthenticate(response, next_url: str = SENSITIVE) -> None:
    path, query = redirect_parts(response)
    assert path == reverse("accounts:reauthenticate")
    assert query == {"next": [next_url]}


def test_reauth_window_defaults_to_10_minutes():
    assert mfa_settings.REAUTH_WINDOW == 10 * 60


def test_sensitive_view_without_reauthentication_redirects_to_reauthenticate(mfa_client):
    response = mfa_client.get(SENSITIVE)

    assert_sent_to_reauthenticate(response)
    page = mfa_client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Confirm it&#x27;s you" in html or "Confirm it's you" in html
    assert 'name="password"' in html and 'name="code"' in html
    assert f'name="next" value="{SENSITIVE}"' in html


def test_sensitive_view_for_anonymous_visitor_redirects_to_sign_in(client):
    path, query = redirect_parts(client.get(SENSITIVE))

    assert path == reverse("accounts:login")
    assert query == {"next": [SENSITIVE]}


def test_reauthenticate_with_password_alone_is_refused_when_user_has_second_factor(mfa_client):
    response = reauth(mfa_client, code=None)

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Enter the code."]
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))
    assert not AuditEvent.objects.filter(event_type="reauth.succeeded").exists()


@pytest.mark.parametrize("method", ["", "password", "nonexistent", "totp"])
def test_reauthenticate_naming_another_method_still_needs_the_code(mfa_client, method):
    response = reauth(mfa_client, code=None, method=method)

    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))


def test_reauthenticate_with_password_and_code_returns_to_next(mfa_client, user_with_mfa):
    response = reauth(mfa_client)

    assert response.status_code == 302
    assert response.url == SENSITIVE
    page = mfa_client.get(SENSITIVE)
    assert page.status_code == 200
    assert "Choose which authentication method to use" in page.content.decode()
    event = AuditEvent.objects.get(event_type="reauth.succeeded")
    assert (event.actor, event.target_user, event.method) == (user_with_mfa, user_with_mfa, "fake")


def test_reauthenticate_without_second_factor_takes_password_alone(signed_in_client, user):
    form_page = signed_in_client.get(REAUTH, {"next": "/account/profile/"}).content.decode()
    assert 'name="code"' not in form_page

    response = signed_in_client.post(REAUTH, {"password": PASSWORD, "next": "/account/profile/"})

    assert response.status_code == 302
    assert response.url == "/account/profile/"
    assert AuditEvent.objects.get(event_type="reauth.succeeded").method == "password"


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example", "javascript:alert(1)", "profile"])
def test_reauthenticate_ignores_next_to_another_site(mfa_client, evil):
    response = reauth(mfa_client, next_url=evil)

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")


def test_reauthentication_window_ends_after_reauth_window(mfa_client, clock):
    reauth(mfa_client)

    clock.advance(mfa_settings.REAUTH_WINDOW - 1)
    assert mfa_client.get(SENSITIVE).status_code == 200

    clock.advance(2)
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))


def test_reauthentication_window_follows_setting(mfa_client, clock, settings):
    settings.MFA_REAUTH_WINDOW = 120
    reauth(mfa_client)

    clock.advance(121)

    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))


def test_reauthentication_window_is_kept_in_server_side_session(mfa_client):
    reauth(mfa_client)

    cookie = mfa_client.cookies[settings.SESSION_COOKIE_NAME].value
    stored = Session.objects.get(session_key=cookie).get_decoded()
    assert REAUTH_SESSION_KEY in stored
    # The cookie is only the opaque session key: no time, nothing to edit.
    assert len(cookie) == 32 and cookie.isalnum()
    assert all("reauth" not in name.lower() for name in mfa_client.cookies)


def test_reauthentication_window_cannot_be_extended_by_editing_cookies(mfa_client, clock):
    reauth(mfa_client)
    clock.advance(mfa_settings.REAUTH_WINDOW + 1)
    far_future = str(int(clock.timestamp()) + 10**6)

    mfa_client.cookies[REAUTH_SESSION_KEY] = far_future
    mfa_client.cookies["reauthenticated"] = "1"
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))

    key = mfa_client.cookies[settings.SESSION_COOKIE_NAME].value
    mfa_client.cookies[settings.SESSION_COOKIE_NAME] = key + ":" + far_future
    path, _ = redirect_parts(mfa_client.get(SENSITIVE))
    assert path == reverse("accounts:login")  # a forged cookie is simply no session


def test_reauthentication_window_belongs_to_one_session(client, user_with_mfa):
    other_device = Client()
    assert sign_in(client, user_with_mfa).status_code == 302
    assert sign_in(other_device, user_with_mfa).status_code == 302
    let_step_up_window_pass()

    reauth(client)

    assert client.get(SENSITIVE).status_code == 200
    assert_sent_to_reauthenticate(other_device.get(SENSITIVE))


def test_reauthentication_window_ends_with_sign_out(mfa_client):
    reauth(mfa_client)
    cookie = mfa_client.cookies[settings.SESSION_COOKIE_NAME].value
    mfa_client.post(reverse("accounts:logout"))

    mfa_client.cookies[settings.SESSION_COOKIE_NAME] = cookie  # the old session, window and all, is gone

    path, _ = redirect_parts(mfa_client.get(SENSITIVE))
    assert path == reverse("accounts:login")


def test_sensitive_post_without_reauthentication_changes_nothing_and_restarts_safely(mfa_client, user_with_mfa):
    response = mfa_client.post(SENSITIVE, {"method": "fake"})

    assert_sent_to_reauthenticate(response)
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == ""
    assert not AuditEvent.objects.filter(event_type="mfa.default_method_changed").exists()

    back = reauth(mfa_client, next_url=SENSITIVE)
    assert back.status_code == 302 and back.url == SENSITIVE
    # Sent back to the page (a GET): the POST is not replayed behind the user's back.
    page = mfa_client.get(back.url)
    assert page.status_code == 200
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == ""

    assert mfa_client.post(SENSITIVE, {"method": "fake"}).url == reverse("accounts:profile")
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == "fake"
    assert AuditEvent.objects.filter(event_type="mfa.default_method_changed").count() == 1


def test_reauthenticate_with_wrong_password_is_audited(mfa_client, user_with_mfa):
    response = reauth(mfa_client, password="not my password at all")

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == ["Incorrect password."]
    event = AuditEvent.objects.get(event_type="reauth.failed")
    assert (event.actor, event.target_user) == (user_with_mfa, user_with_mfa)
    assert event.method == "fake"
    assert event.data == {"error": "incorrect_password"}
    assert event.ip_address == "127.0.0.1"
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))


def test_reauthenticate_with_wrong_code_is_audited(mfa_client, user_with_mfa):
    response = reauth(mfa_client, code="000000")

    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == ["Incorrect code."]
    event = AuditEvent.objects.get(event_type="reauth.failed")
    assert event.data["error"] == "incorrect_code"
    assert "000000" not in str(event.data)
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))


def test_reauthenticate_after_too_many_failures_is_blocked_until_window_passes(mfa_client, user_with_mfa, clock,
                                                                                settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (3, 600)
    for _ in range(3):
        reauth(mfa_client, password="not my password at all")

    response = reauth(mfa_client)  # the right password and code

    assert response.status_code == 200
    errors = list(response.context["form"].non_field_errors())
    assert len(errors) == 1 and errors[0].startswith("Too many attempts. Try again in ")
    assert_sent_to_reauthenticate(mfa_client.get(SENSITIVE))
    assert AuditEvent.objects.filter(event_type="reauth.failed").count() == 3
    assert not AuditEvent.objects.filter(event_type="reauth.succeeded").exists()

    clock.advance(600)
    assert reauth(mfa_client).url == SENSITIVE


def test_reauthenticate_page_for_half_signed_in_session_sends_to_step_two(client, user_with_mfa):
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})

    response = client.post(REAUTH, {"password": PASSWORD, "code": FAKE_CODE})

    assert response.status_code == 302
    assert response.url == reverse("accounts:login_verify")
    assert REAUTH_SESSION_KEY not in client.session
