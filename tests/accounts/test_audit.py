"""The audit log: audit.record() and the Profile's recent sign-in activity."""
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from tests.accounts.helpers import let_device_wait_pass
from tests.conftest import FAKE_CODE, PASSWORD, sign_in

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def request_from(user=None, *, ip: str = "198.51.100.10", agent: str = FIREFOX, **meta):
    request = RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent, **meta)
    request.user = user or AnonymousUser()
    return request


def activity_rows(html: str) -> list[str]:
    section = html.split('id="sign-in-activity"', 1)[1]
    return re.findall(r'<tr class="(?:ok|failed)">(.*?)</tr>', section, flags=re.S)


def test_record_fills_actor_target_ip_and_user_agent_from_request(user):
    event = audit.record(request_from(user, ip="198.51.100.10"), "test.event", method="fake", data={"n": 1})

    event.refresh_from_db()
    assert event.event_type == "test.event"
    assert event.actor == user
    assert event.target_user == user
    assert event.ip_address == "198.51.100.10"
    assert event.user_agent == FIREFOX
    assert event.method == "fake"
    assert event.data == {"n": 1}
    assert event.created_at is not None


def test_record_keeps_explicit_actor_and_target(user, make_user, acme):
    event = audit.record(request_from(acme.admin), "test.reset", target=user, agency=acme.agency)

    assert event.actor == acme.admin
    assert event.target_user == user
    assert event.agency == acme.agency


def test_record_for_anonymous_request_has_no_actor(user):
    event = audit.record(request_from(), "signin.failed", target=user, attempted_email="USER@x.test")

    assert event.actor is None
    assert event.target_user == user
    assert event.attempted_email == "USER@x.test"


def test_record_without_request_has_no_ip_or_user_agent(user):
    event = audit.record(None, "test.system", actor=user)

    assert (event.ip_address, event.user_agent) == (None, "")
    assert event.actor == event.target_user == user


def test_record_trusts_x_forwarded_for_only_from_configured_proxies(user, settings):
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.66, 198.51.100.200"}

    direct = audit.record(request_from(user, ip="10.0.0.2", **forwarded), "test.direct")
    settings.ACCOUNTS_TRUSTED_PROXY_COUNT = 1
    proxied = audit.record(request_from(user, ip="10.0.0.2", **forwarded), "test.proxied")

    assert direct.ip_address == "10.0.0.2"  # X-Forwarded-For ignored without a trusted proxy
    assert proxied.ip_address == "198.51.100.200"  # the entry our one proxy appended


def test_record_truncates_huge_user_agent_and_ignores_invalid_ip(user):
    event = audit.record(request_from(user, ip="not-an-ip", agent="A" * 5000), "test.odd")

    event.refresh_from_db()
    assert event.ip_address is None
    assert event.user_agent == "A" * 512


def test_profile_lists_own_last_20_sign_in_attempts(signed_in_client, user, make_user):
    other = make_user("other@example.test")
    AuditEvent.objects.all().delete()
    for n in range(101, 126):  # 25 attempts, oldest first
        kind = audit.SIGN_IN_SUCCEEDED if n % 5 == 0 else audit.SIGN_IN_FAILED
        audit.record(request_from(ip=f"198.51.100.{n}", agent=IPHONE), kind, actor=None, target=user,
                     method="password")
    audit.record(request_from(ip="203.0.113.99"), audit.SIGN_IN_FAILED, target=other, method="password")
    audit.record(request_from(user, ip="203.0.113.98"), audit.PASSWORD_CHANGED)  # not a sign-in

    response = signed_in_client.get(reverse("accounts:profile"))

    activity = response.context["activity"]
    assert len(activity) == 20
    assert [row.ip_address for row in activity] == [f"198.51.100.{n}" for n in range(125, 105, -1)]
    html = response.content.decode()
    rows = activity_rows(html)
    assert len(rows) == 20
    assert "198.51.100.125" in rows[0] and "Success" in rows[0]
    assert "198.51.100.124" in rows[1] and "Failed" in rows[1]
    assert all("Password" in row and "Safari on iPhone" in row and "<time datetime=" in row for row in rows)
    for hidden in ("198.51.100.105", "198.51.100.101", "203.0.113.99", "203.0.113.98"):
        assert hidden not in html


def test_profile_lists_real_sign_in_attempts_with_result_method_ip_and_browser(client, user_with_mfa):
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": "wrong password!"},
                HTTP_USER_AGENT=FIREFOX)
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD},
                HTTP_USER_AGENT=FIREFOX)
    client.post(reverse("accounts:login_verify"), {"code": "000000"}, HTTP_USER_AGENT=FIREFOX)
    let_device_wait_pass(user_with_mfa)
    client.post(reverse("accounts:login_verify"), {"code": FAKE_CODE}, HTTP_USER_AGENT=FIREFOX)

    rows = activity_rows(client.get(reverse("accounts:profile")).content.decode())

    assert len(rows) == 3
    newest, code_failure, password_failure = rows
    assert "Success" in newest and ">Fake code<" in newest
    assert "Failed" in code_failure and ">Fake code<" in code_failure
    assert "Failed" in password_failure and ">Password<" in password_failure
    assert all("127.0.0.1" in row and "Firefox on Linux" in row for row in rows)


def test_profile_does_not_list_other_users_sign_in_attempts(client, user, make_user):
    other = make_user("other@example.test")
    client.post(reverse("accounts:login"), {"email": other.email, "password": "wrong password!"})
    sign_in(client, other)
    client.post(reverse("accounts:logout"))

    assert sign_in(client, user).status_code == 302
    activity = client.get(reverse("accounts:profile")).context["activity"]

    assert len(activity) == 1
    assert activity[0].succeeded
    assert AuditEvent.objects.filter(target_user=other, event_type__startswith="signin.").count() == 2


def test_profile_shows_throttled_attempts_as_blocked(signed_in_client, user):
    audit.record(request_from(), audit.SIGN_IN_THROTTLED, target=user, method="password")

    html = signed_in_client.get(reverse("accounts:profile")).content.decode()

    assert "Blocked (too many attempts)" in html
