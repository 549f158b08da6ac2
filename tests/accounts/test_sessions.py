"""Sessions: 30 minutes idle, 12 hours in all, and sign-out deletes them server-side."""
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import AuditEvent
from tests.conftest import reauthenticate, sign_in
from tests.urlwalk import resolvable, walk

pytestmark = pytest.mark.django_db

MINUTE = 60
PROFILE = "/account/profile/"


def assert_sent_to_sign_in(response, next_path: str = PROFILE) -> None:
    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("accounts:login")
    assert parse_qs(target.query) == {"next": [next_path]}


def test_session_settings_are_30_minutes_idle_and_12_hours_absolute():
    assert settings.ACCOUNTS_SESSION_IDLE_TIMEOUT == 30 * MINUTE
    assert settings.ACCOUNTS_SESSION_MAX_AGE == 12 * 60 * MINUTE
    # Django's cached_db sessions, trimmed (accounts/session_store.py): the database stays the record.
    assert settings.SESSION_ENGINE == "accounts.session_store"


def test_session_idle_for_29_minutes_stays_signed_in(signed_in_client, clock):
    clock.advance(29 * MINUTE)

    assert signed_in_client.get(PROFILE).status_code == 200


def test_session_idle_for_over_30_minutes_ends(signed_in_client, clock):
    key = signed_in_client.session.session_key
    clock.advance(30 * MINUTE + 1)

    response = signed_in_client.get(PROFILE)

    assert_sent_to_sign_in(response)
    assert "_auth_user_id" not in signed_in_client.session
    assert not Session.objects.filter(session_key=key).exists()
    followed = signed_in_client.get(response.url)
    assert "Your session has expired. Please sign in again." in followed.content.decode()


def test_session_activity_pushes_idle_timeout_back(signed_in_client, clock):
    for _ in range(4):  # two hours in all, never idle for 30 minutes
        clock.advance(29 * MINUTE)
        assert signed_in_client.get(PROFILE).status_code == 200

    clock.advance(30 * MINUTE + 1)
    assert_sent_to_sign_in(signed_in_client.get(PROFILE))


def test_session_ends_12_hours_after_sign_in_however_active(signed_in_client, clock):
    elapsed = 0
    while elapsed + 25 * MINUTE <= 12 * 60 * MINUTE:
        clock.advance(25 * MINUTE)
        elapsed += 25 * MINUTE
        assert signed_in_client.get(PROFILE).status_code == 200, f"ended early, after {elapsed / 3600:.2f} h"

    clock.advance(12 * 60 * MINUTE - elapsed + 1)

    assert_sent_to_sign_in(signed_in_client.get(PROFILE))
    assert "_auth_user_id" not in signed_in_client.session


def test_sign_out_deletes_session_row(signed_in_client, user):
    key = signed_in_client.session.session_key
    assert Session.objects.filter(session_key=key).exists()

    response = signed_in_client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.filter(event_type="signout", actor=user).count() == 1
    assert signed_in_client.get(PROFILE).status_code == 302


def test_sign_out_then_reusing_old_session_cookie_is_signed_out(signed_in_client):
    key = signed_in_client.session.session_key
    signed_in_client.post(reverse("accounts:logout"))

    signed_in_client.cookies[settings.SESSION_COOKIE_NAME] = key
    response = signed_in_client.get(PROFILE)

    assert_sent_to_sign_in(response)


def test_sign_out_get_only_shows_button(signed_in_client):
    key = signed_in_client.session.session_key

    response = signed_in_client.get(reverse("accounts:logout"))

    assert response.status_code == 200
    assert "Sign out" in response.content.decode()
    assert Session.objects.filter(session_key=key).exists()
    assert signed_in_client.get(PROFILE).status_code == 200


def test_sign_out_button_is_on_every_page(client, user_with_mfa):
    assert sign_in(client, user_with_mfa).status_code == 302
    assert reauthenticate(client, user_with_mfa).status_code == 302
    urls, problems = resolvable(walk())
    assert not problems, problems
    pages, missing = 0, []
    for url in urls:
        if url.name == "accounts:logout" or (url.namespaces and url.namespaces[0] == "admin"):
            continue  # the sign-out page itself; Django's admin has its own layout and log-out
        response = client.get(url.path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        pages += 1
        if f'action="{reverse("accounts:logout")}"' not in response.content.decode():
            missing.append(url.label())

    assert pages >= 3  # profile, password change, the method chooser at least
    assert not missing, missing
