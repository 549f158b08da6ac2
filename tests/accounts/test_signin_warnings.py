"""Warnings before a sign-in lock-out, and the reset link after one; alike for unknown emails."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
FORGOT = reverse("accounts:password_reset_request")
THROTTLED = re.compile(r"Too many attempts\. Try again in \d+ minutes?\.")


def fail(client: Client, email: str) -> str:
    return client.post(LOGIN, {"email": email, "password": "a wrong guess!"}).content.decode()


def warning(page: str) -> str:
    found = re.search(r'<p class="message warning" role="status" id="attempts-warning">([^<]*)</p>', page)
    return found[1] if found else ""


def offers_reset(page: str) -> bool:
    return 'id="reset-offer"' in page and f'href="{FORGOT}"' in page


def test_sign_in_warns_when_two_attempts_are_left(client, user):
    pages = [fail(client, user.email) for _ in range(10)]

    assert [warning(page) for page in pages[:7]] == [""] * 7
    assert warning(pages[7]) == "2 attempts left before a 15-minute pause."
    assert warning(pages[8]) == "1 attempt left before a 15-minute pause."
    assert warning(pages[9]) == "That was the last attempt: sign-in is now paused for up to 15 minutes."
    assert all("Incorrect email or password." in page for page in pages)


def test_sign_in_offers_the_reset_link_after_the_lock_out(client, user):
    pages = [fail(client, user.email) for _ in range(10)]
    locked = client.post(LOGIN, {"email": user.email, "password": PASSWORD}).content.decode()

    assert not any(offers_reset(page) for page in pages[:9])
    assert offers_reset(pages[9])
    assert THROTTLED.search(locked) and offers_reset(locked)
    assert "_auth_user_id" not in client.session


def test_sign_in_warnings_follow_the_configured_budget(client, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (4, 300)

    pages = [fail(client, user.email) for _ in range(3)]

    assert [warning(page) for page in pages] == [
        "", "2 attempts left before a 5-minute pause.", "1 attempt left before a 5-minute pause."]


def test_sign_in_warnings_for_an_unknown_email_match_a_known_one(user):
    known, unknown = Client(), Client()
    known_pages = [fail(known, user.email) for _ in range(11)]
    unknown_pages = [fail(unknown, "nobody@example.test") for _ in range(11)]

    assert [warning(p) for p in known_pages] == [warning(p) for p in unknown_pages]
    assert [offers_reset(p) for p in known_pages] == [offers_reset(p) for p in unknown_pages]
    assert [bool(THROTTLED.search(p)) for p in known_pages] == [bool(THROTTLED.search(p)) for p in unknown_pages]


def test_sign_in_with_the_right_password_shows_no_warning_and_resets_the_count(client, user):
    for _ in range(8):
        fail(client, user.email)
    assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).status_code == 302
    client.post(reverse("accounts:logout"))

    assert warning(fail(client, user.email)) == ""
