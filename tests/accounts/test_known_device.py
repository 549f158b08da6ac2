"""Known-device cookies: guessing a user's password elsewhere does not lock them out here."""
import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.app_settings import app_settings
from accounts.signin import DEVICE_COOKIE_SALT
from tests.conftest import PASSWORD, sign_in

LOGIN = reverse("accounts:login")


@pytest.fixture
def small_limits(settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (3, 900)


def guess_from_elsewhere(user, times: int) -> None:
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    for _ in range(times):
        attacker.post(LOGIN, {"email": user.email, "password": "a wrong guess!"})


def test_sign_in_sets_a_known_device_cookie(client, user):
    response = client.post(LOGIN, {"email": user.email, "password": PASSWORD})
    cookie = response.cookies[app_settings.KNOWN_DEVICE_COOKIE_NAME]
    assert cookie.value and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert user.email not in cookie.value and str(user.pk) != cookie.value


def test_known_device_still_signs_in_while_strangers_are_locked_out(small_limits, user_with_mfa):
    own_browser = Client()
    sign_in(own_browser, user_with_mfa)
    own_browser.post(reverse("accounts:logout"))
    guess_from_elsewhere(user_with_mfa, 3)

    stranger = Client(REMOTE_ADDR="198.51.100.77").post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD})
    assert "Too many attempts" in stranger.content.decode()
    response = own_browser.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("accounts:login_verify")


def test_known_device_has_its_own_limit_too(small_limits, user):
    own_browser = Client()
    sign_in(own_browser, user, code=None)
    own_browser.post(reverse("accounts:logout"))
    for _ in range(3):
        own_browser.post(LOGIN, {"email": user.email, "password": "a wrong guess!"})
    blocked = own_browser.post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert "Too many attempts" in blocked.content.decode()


@pytest.mark.parametrize("cookie", ["forged-value", "signed-for-another-user"])
def test_forged_or_foreign_device_cookie_gets_no_budget(small_limits, user, make_user, cookie):
    guess_from_elsewhere(user, 3)
    browser = Client()
    if cookie == "signed-for-another-user":
        other = make_user("other@example.test")
        sign_in(browser, other, code=None)
        browser.post(reverse("accounts:logout"))
    else:
        browser.cookies[app_settings.KNOWN_DEVICE_COOKIE_NAME] = cookie
    response = browser.post(LOGIN, {"email": user.email, "password": PASSWORD})
    assert "Too many attempts" in response.content.decode()


def test_known_device_cookie_is_opaque(client, user, make_user):
    """Only a random id, its date and a signature: no user id to read (signing.dumps showed it)."""
    other = make_user("other@example.test")
    values = []
    for account in (user, other):
        browser = Client()
        sign_in(browser, account, code=None)
        values.append(browser.cookies[app_settings.KNOWN_DEVICE_COOKIE_NAME].value)

    for value in values:
        assert re.fullmatch(r"[A-Za-z0-9_-]{16}:[0-9A-Za-z]+:[A-Za-z0-9_-]+", value), value
        with pytest.raises(signing.BadSignature):
            signing.loads(value, salt=DEVICE_COOKIE_SALT)
    assert values[0].split(":")[0] != values[1].split(":")[0]
