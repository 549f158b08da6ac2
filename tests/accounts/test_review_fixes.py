"""Limits and tenancy holes found in review: each test is what an attacker would try."""
import pytest
from django.test import Client
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from mfa.app_settings import app_settings as mfa_settings
from tests.conftest import PASSWORD, add_fake_device, sign_in


def test_password_change_form_is_not_an_unlimited_password_oracle(signed_in_client, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (3, 900)
    url = reverse("accounts:password_change")
    attempt = {"old_password": "a wrong guess here", "new_password": "a brand new passphrase 1",
               "new_password_confirm": "a brand new passphrase 1"}
    for _ in range(3):
        response = signed_in_client.post(url, attempt)
        assert "Your current password was entered incorrectly." in response.content.decode()
    blocked = signed_in_client.post(url, {**attempt, "old_password": PASSWORD})
    page = blocked.content.decode()
    assert blocked.status_code == 429 and "Too many attempts" in page
    assert "entered incorrectly" not in page
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # the right password did not slip through
    assert AuditEvent.objects.filter(event_type=audit.PASSWORD_CHANGE_FAILED, target_user=user).count() == 3


def test_correct_password_change_does_not_spend_the_budget(signed_in_client, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (1, 900)
    response = signed_in_client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "a brand new passphrase 1",
        "new_password_confirm": "a brand new passphrase 1"})
    assert response.status_code == 302
    # The re-authentication budget (shared) is untouched.
    assert signed_in_client.post(reverse("accounts:reauthenticate"),
                                 {"password": "a brand new passphrase 1"}).status_code == 302


def test_account_limit_counts_every_spelling_of_one_account(client, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (2, 900)
    for email in ("user@example.test", "USER@Example.Test"):
        client.post(reverse("accounts:login"), {"email": email, "password": "wrong password here"})
    response = client.post(reverse("accounts:login"), {"email": "User@example.test", "password": PASSWORD})
    assert response.status_code == 200 and "Too many attempts" in response.content.decode()


def test_admin_login_page_cannot_skip_the_second_factor(make_user):
    staff = make_user("staff@example.test")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    add_fake_device(staff)
    client = Client()
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 302 and page.url.startswith(reverse("accounts:login"))
    posted = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted.url.startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_admin_site_after_two_step_sign_in(make_user):
    staff = make_user("staff@example.test")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    add_fake_device(staff)
    client = Client()
    sign_in(client, staff)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("reset_by", ["admin_reset", "password_change"])
def test_pending_sign_in_ends_when_the_account_changes(client, user_with_mfa, reset_by):
    response = client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})
    assert response.url == reverse("accounts:login_verify")
    if reset_by == "admin_reset":
        user_with_mfa.end_all_sessions()
    else:
        user_with_mfa.set_password("another long passphrase 9")
        user_with_mfa.save()
    finished = client.post(reverse("accounts:login_verify"), {"code": "424242"})
    assert finished.status_code == 400 and "Sign-in expired" in finished.content.decode()
    assert "_auth_user_id" not in client.session


def test_ipv6_clients_share_one_budget_per_64(client, make_user, settings):
    """Rotating through a /64 does not buy fresh per-IP sign-in attempts."""
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = (2, 900)
    for index, host in enumerate(("2001:db8:1:2::10", "2001:db8:1:2::11")):
        make_user(f"victim{index}@example.test")
        client.post(reverse("accounts:login"), {"email": f"victim{index}@example.test", "password": "wrong guess 1"},
                    REMOTE_ADDR=host)
    response = client.post(reverse("accounts:login"), {"email": "victim0@example.test", "password": PASSWORD},
                           REMOTE_ADDR="2001:db8:1:2:ffff::1")
    assert "Too many attempts" in response.content.decode()
    other_network = client.post(reverse("accounts:login"), {"email": "victim1@example.test", "password": PASSWORD},
                                REMOTE_ADDR="2001:db8:1:3::1")
    assert other_network.status_code == 302


def test_an_expired_half_done_sign_in_does_not_swallow_the_next_sign_in(client, user_with_mfa, make_user, clock):
    """The sign-in form posted after step 2 lapsed is handled, not bounced to step 2 and back (losing the password)."""
    other = make_user("other@example.test")
    response = client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})
    assert response.url == reverse("accounts:login_verify")
    clock.advance(mfa_settings.PENDING_SIGN_IN_TIMEOUT + 1)

    response = client.post(reverse("accounts:login"), {"email": other.email, "password": PASSWORD})

    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    assert client.get(reverse("accounts:profile")).wsgi_request.user == other
