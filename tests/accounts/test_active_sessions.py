"""Profile › Active sessions: every signed-in browser listed, and each one can be signed out."""
import json
import re
from html import unescape

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import sessions, tasks
from accounts.models import AuditEvent, User, UserSession
from mfa.app_settings import app_settings as mfa_settings
from tests.agencies.test_member_reset import reset_url
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, reauthenticate, sign_in

pytestmark = pytest.mark.django_db

MINUTE = 60
PROFILE = "/account/profile/"
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/126.0 Safari/537.36")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def browser(user_agent: str = CHROME_MAC, ip: str = "203.0.113.7") -> Client:
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)


def signed_in_browser(user: User, user_agent: str = CHROME_MAC, ip: str = "203.0.113.7") -> Client:
    client = browser(user_agent, ip)
    assert sign_in(client, user).status_code == 302
    return client


def listed(client: Client) -> list[tuple[str, ...]]:
    """Return the Active sessions rows of the client's Profile as the cells a user reads.

    Each row is (browser, IP address, signed in at, last active, button).
    """
    page = client.get(PROFILE)
    assert page.status_code == 200
    section = re.search(r'<section class="card" id="active-sessions">(.*?)</section>', page.content.decode(), re.S)
    assert section, "the Profile has no Active sessions section"
    rows = re.findall(r'<tr class="session-row[^"]*"[^>]*>(.*?)</tr>', section.group(1), re.S)
    return [tuple(" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
                  for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)) for row in rows]


def browsers(client: Client) -> list[str]:
    """Return the Browser column of the client's Active sessions, "(this session)" included."""
    return [row[0] for row in listed(client)]


def session_id(client: Client) -> int:
    """Return the id the Active sessions list gives the client's own session (its buttons' URLs)."""
    return UserSession.objects.get(session_key=client.session.session_key).pk


def is_signed_in(client: Client) -> bool:
    response = client.get(PROFILE)
    if response.status_code == 302:
        assert response.url.startswith(reverse("accounts:login"))
        return False
    assert response.status_code == 200
    return True


def revoked_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=sessions.SESSION_REVOKED).order_by("id"))


# --- the list -----------------------------------------------------------------------------

def test_profile_lists_two_signed_in_browsers_with_browser_ip_and_this_session(user_with_mfa):
    chrome = signed_in_browser(user_with_mfa, CHROME_MAC, "203.0.113.7")
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")

    seen_by_chrome = listed(chrome)
    seen_by_firefox = listed(firefox)

    assert [row[:2] for row in seen_by_chrome] == [
        ("Chrome on macOS (this session)", "203.0.113.7"), ("Firefox on Windows", "198.51.100.4")]
    assert [row[4] for row in seen_by_chrome] == ["", "Sign out"]  # this one signs out at the top
    assert [row[:2] for row in seen_by_firefox] == [
        ("Firefox on Windows (this session)", "198.51.100.4"), ("Chrome on macOS", "203.0.113.7")]
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", cell)
               for row in seen_by_chrome for cell in row[2:4])


def test_sign_in_records_the_key_the_browser_keeps(user_with_mfa):
    client = browser()
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})
    key_at_step_2 = client.session.session_key

    client.post(reverse("accounts:login_verify"), {"code": FAKE_CODE})

    assert client.session.session_key != key_at_step_2
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [client.session.session_key]
    assert browsers(client) == ["Chrome on macOS (this session)"]


def test_half_done_sign_in_is_not_listed(user_with_mfa):
    chrome = signed_in_browser(user_with_mfa)
    on_step_2 = browser(FIREFOX_WINDOWS, "198.51.100.4")
    on_step_2.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})

    assert browsers(chrome) == ["Chrome on macOS (this session)"]


@pytest.mark.parametrize("count", [1, 20])
def test_list_is_one_query_whatever_the_number_of_sessions(user, count, django_assert_num_queries):
    clients = [signed_in_browser(user, ip=f"203.0.113.{n + 1}") for n in range(count)]
    current_key = clients[0].session.session_key
    fresh_user = User.objects.get(pk=user.pk)

    with django_assert_num_queries(1):
        rows = sessions.active_sessions(fresh_user, current_key=current_key)

    assert len(rows) == count
    assert [row.is_current for row in rows] == [True] + [False] * (count - 1)


def test_last_active_moves_with_the_once_a_minute_activity_write(user, clock):
    client = signed_in_browser(user)
    before = listed(client)[0]

    clock.advance(30)
    assert listed(client)[0] == before  # within the minute: the activity time is not written

    clock.advance(31)
    client.get(reverse("home"))
    after = listed(client)[0]

    assert after[3] != before[3]  # last active
    assert after[2] == before[2]  # signed in at


def test_request_within_the_minute_writes_no_session_row(user, clock):
    client = signed_in_browser(user)
    clock.advance(30)

    with CaptureQueriesContext(connection) as within_the_minute:
        client.get(reverse("home"))
    clock.advance(31)
    with CaptureQueriesContext(connection) as after_the_minute:
        client.get(reverse("home"))

    assert not [q for q in within_the_minute.captured_queries if "accounts_usersession" in q["sql"]]
    assert len([q for q in after_the_minute.captured_queries if "accounts_usersession" in q["sql"]]) == 1


# --- expiry and sign-out -------------------------------------------------------------------

def test_idle_session_is_not_listed_before_its_next_request(user, clock):
    idle = signed_in_browser(user, FIREFOX_WINDOWS, "198.51.100.4")
    clock.advance(20 * MINUTE)
    active = signed_in_browser(user)
    clock.advance(10 * MINUTE + 1)  # the first browser has been idle for over 30 minutes

    assert browsers(active) == ["Chrome on macOS (this session)"]
    assert not is_signed_in(idle)


def test_session_past_12_hours_is_not_listed_however_active(user, clock):
    oldest = signed_in_browser(user, FIREFOX_WINDOWS, "198.51.100.4")
    clock.advance(25 * MINUTE)
    assert is_signed_in(oldest)
    newer = signed_in_browser(user)
    elapsed = 25 * MINUTE
    while elapsed + 25 * MINUTE <= 12 * 60 * MINUTE:
        clock.advance(25 * MINUTE)
        elapsed += 25 * MINUTE
        assert is_signed_in(oldest) and is_signed_in(newer)
    assert len(listed(newer)) == 2

    clock.advance(12 * 60 * MINUTE - elapsed + 1)

    assert browsers(newer) == ["Chrome on macOS (this session)"]


def test_sign_out_removes_the_session_from_the_list(user):
    leaving = signed_in_browser(user, FIREFOX_WINDOWS, "198.51.100.4")
    staying = signed_in_browser(user)
    leaving_key = leaving.session.session_key

    leaving.post(reverse("accounts:logout"))

    assert not UserSession.objects.filter(session_key=leaving_key).exists()
    assert browsers(staying) == ["Chrome on macOS (this session)"]


def test_session_ended_by_idle_timeout_loses_its_row(user, clock):
    client = signed_in_browser(user)
    key = client.session.session_key
    clock.advance(30 * MINUTE + 1)

    assert not is_signed_in(client)

    assert not UserSession.objects.filter(session_key=key).exists()


def test_daily_prune_deletes_rows_of_sessions_that_ended_unnoticed(user, clock):
    abandoned = signed_in_browser(user, FIREFOX_WINDOWS, "198.51.100.4")
    abandoned_key = abandoned.session.session_key
    clock.advance(30 * MINUTE + 1)
    current = signed_in_browser(user)

    tasks.prune_outbox()

    assert list(UserSession.objects.values_list("session_key", flat=True)) == [current.session.session_key]
    assert UserSession.objects.filter(session_key=abandoned_key).count() == 0


# --- signing sessions out ------------------------------------------------------------------

def test_sign_out_other_session_ends_it_at_once(user_with_mfa):
    chrome = signed_in_browser(user_with_mfa)
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    firefox_key = firefox.session.session_key
    reauthenticate(chrome, user_with_mfa)

    response = chrome.post(reverse("accounts:session_sign_out", args=[session_id(firefox)]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:profile") + "#active-sessions"
    assert "The session was signed out." in response.content.decode()
    assert not is_signed_in(firefox)
    assert not Session.objects.filter(session_key=firefox_key).exists()
    assert browsers(chrome) == ["Chrome on macOS (this session)"]


def test_sign_out_session_audits_its_browser_and_ip_never_its_key(user_with_mfa):
    chrome = signed_in_browser(user_with_mfa)
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    firefox_key = firefox.session.session_key
    reauthenticate(chrome, user_with_mfa)

    chrome.post(reverse("accounts:session_sign_out", args=[session_id(firefox)]))

    [event] = revoked_events()
    assert (event.actor, event.target_user, event.ip_address) == (user_with_mfa, user_with_mfa, "203.0.113.7")
    assert event.data["browser"] == "Firefox on Windows" and event.data["ip_address"] == "198.51.100.4"
    assert firefox_key not in json.dumps(event.data) and firefox_key not in event.user_agent


def test_sign_out_other_session_without_reauthentication_changes_nothing(user_with_mfa, clock):
    chrome = signed_in_browser(user_with_mfa)
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    url = reverse("accounts:session_sign_out", args=[session_id(firefox)])
    clock.advance(mfa_settings.REAUTH_WINDOW + 1)  # past any window the sign-in opened

    response = chrome.post(url)

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:reauthenticate"))
    assert is_signed_in(firefox) and len(listed(chrome)) == 2 and not revoked_events()


def test_sign_out_after_confirming_its_you_asks_once_more(user_with_mfa, clock):
    chrome = signed_in_browser(user_with_mfa)
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    url = reverse("accounts:session_sign_out", args=[session_id(firefox)])
    clock.advance(mfa_settings.REAUTH_WINDOW + 1)
    to_confirm = chrome.post(url)

    back = chrome.post(to_confirm.url, {"password": PASSWORD, "code": FAKE_CODE})
    page = chrome.get(back.url)

    assert back.url == url
    assert page.status_code == 200
    assert "Sign out this session?" in page.content.decode() and "Firefox on Windows" in page.content.decode()
    assert is_signed_in(firefox)
    chrome.post(url)
    assert not is_signed_in(firefox)


def test_sign_out_all_other_sessions_keeps_only_this_one(user_with_mfa):
    chrome = signed_in_browser(user_with_mfa)
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    iphone = signed_in_browser(user_with_mfa, SAFARI_IPHONE, "192.0.2.9")
    reauthenticate(chrome, user_with_mfa)

    response = chrome.post(reverse("accounts:other_sessions_sign_out"), follow=True)

    assert "2 other sessions were signed out." in response.content.decode()
    assert not is_signed_in(firefox) and not is_signed_in(iphone)
    assert is_signed_in(chrome)
    assert browsers(chrome) == ["Chrome on macOS (this session)"]
    assert sorted(event.data["browser"] for event in revoked_events()) == ["Firefox on Windows", "Safari on iPhone"]


def test_sign_out_all_other_sessions_without_reauthentication_changes_nothing(user_with_mfa, clock):
    chrome = signed_in_browser(user_with_mfa)
    firefox = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    clock.advance(mfa_settings.REAUTH_WINDOW + 1)

    response = chrome.post(reverse("accounts:other_sessions_sign_out"))

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:reauthenticate"))
    assert is_signed_in(firefox) and not revoked_events()


def test_sign_out_of_this_session_from_the_list_signs_this_browser_out(user_with_mfa):
    chrome = signed_in_browser(user_with_mfa)
    other = signed_in_browser(user_with_mfa, FIREFOX_WINDOWS, "198.51.100.4")
    reauthenticate(chrome, user_with_mfa)

    response = chrome.post(reverse("accounts:session_sign_out", args=[session_id(chrome)]))

    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert not is_signed_in(chrome)
    assert browsers(other) == ["Firefox on Windows (this session)"]


def test_sign_out_of_another_users_session_is_404_and_changes_nothing(user_with_mfa, make_user):
    mallory = make_user("mallory@example.test", name="Mallory")
    add_fake_device(mallory)
    attacker = signed_in_browser(mallory, FIREFOX_WINDOWS, "198.51.100.66")
    victim = signed_in_browser(user_with_mfa)
    reauthenticate(attacker, mallory)
    url = reverse("accounts:session_sign_out", args=[session_id(victim)])

    assert attacker.get(url).status_code == 404
    assert attacker.post(url).status_code == 404

    assert is_signed_in(victim) and browsers(victim) == ["Chrome on macOS (this session)"]
    assert not revoked_events()


def test_sign_out_all_other_sessions_leaves_other_users_alone(user_with_mfa, make_user):
    other_user = make_user("other@example.test")
    bystander = signed_in_browser(other_user, FIREFOX_WINDOWS, "198.51.100.4")
    chrome = signed_in_browser(user_with_mfa)
    reauthenticate(chrome, user_with_mfa)

    chrome.post(reverse("accounts:other_sessions_sign_out"))

    assert is_signed_in(bystander) and browsers(bystander) == ["Firefox on Windows (this session)"]


# --- sessions ended elsewhere --------------------------------------------------------------

def test_admin_reset_ends_members_sessions_and_lists_only_the_new_one(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    laptop = signed_in_browser(acme.alice)
    phone = signed_in_browser(acme.alice, SAFARI_IPHONE, "192.0.2.9")
    add_fake_device(acme.owner)
    admin = signed_in_browser(acme.owner, FIREFOX_WINDOWS, "198.51.100.20")
    page = reset_url(acme.agency, acme.alice)
    admin.post(f"{reverse('accounts:reauthenticate')}?next={page}", {"password": PASSWORD, "code": FAKE_CODE})
    assert b"Disable" in admin.get(page).content

    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(page).url == reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])

    assert not UserSession.objects.filter(user=acme.alice).exists()
    assert not is_signed_in(laptop) and not is_signed_in(phone)
    again = signed_in_browser(acme.alice, FIREFOX_WINDOWS, "198.51.100.4")
    assert browsers(again) == ["Firefox on Windows (this session)"]
    assert is_signed_in(admin)  # the administrator's own session is untouched


def test_password_change_lists_only_this_session(user):
    chrome = signed_in_browser(user)
    firefox = signed_in_browser(user, FIREFOX_WINDOWS, "198.51.100.4")
    firefox_key = firefox.session.session_key

    response = chrome.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "a brand new passphrase 77",
        "new_password_confirm": "a brand new passphrase 77",
    })

    assert response.status_code == 302
    assert browsers(chrome) == ["Chrome on macOS (this session)"]
    assert not Session.objects.filter(session_key=firefox_key).exists()
    assert not is_signed_in(firefox)
    assert is_signed_in(chrome)


def test_password_set_without_ending_sessions_hides_them_at_once(user):
    """A password saved by code that ends no session itself (Django's SetPasswordForm): the hash check hides them."""
    chrome = signed_in_browser(user)
    form = SetPasswordForm(User.objects.get(pk=user.pk), {
        "new_password1": "a brand new passphrase 77", "new_password2": "a brand new passphrase 77"})
    assert form.is_valid(), form.errors
    form.save()

    assert sessions.active_sessions(User.objects.get(pk=user.pk), current_key=None) == []
    assert not is_signed_in(chrome)
    again = browser(FIREFOX_WINDOWS, "198.51.100.4")
    assert sign_in(again, user, password="a brand new passphrase 77").status_code == 302
    assert browsers(again) == ["Firefox on Windows (this session)"]
