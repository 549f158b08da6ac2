"""Trusted browsers: step 2 skipped only after the right password, and only until any revocation cause."""
import hashlib
import html
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts import audit, trusted_browsers
from accounts.models import AuditEvent, TrustedBrowser, User
from agencies.flows import reset_member_method
from mfa.backup_codes import flows as backup_code_flows
from mfa.registry import get_method
from mfa.totp import flows as totp_flows
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, reauthenticate, sign_in
from tests.mfa.backup_codes.conftest import flow_request as backup_flow_request
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.totp.conftest import enrol, flow_request

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
VERIFY = reverse("accounts:login_verify")
PROFILE = reverse("accounts:profile")
REVOKE_ALL = reverse("accounts:trusted_browsers_revoke_all")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
COOKIE = "ctm_trusted_browser"
BOX = "Don't ask for a code on this browser for 30 days"


def browser(ip: str = "198.51.100.20") -> Client:
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=FIREFOX)


def trust(client: Client, user: User, *, code: str = FAKE_CODE):
    """Sign in with the box ticked at step 2; return step 2's response (the client stays signed in)."""
    assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).url == VERIFY
    return client.post(VERIFY, {"method": "fake", "code": code, "remember_browser": "on"})


def trusted_browser_of(user: User, **client_args) -> Client:
    """A browser ``user`` trusted at sign-in and then signed out of."""
    client = browser(**client_args)
    assert trust(client, user).status_code == 302
    client.post(reverse("accounts:logout"))
    return client


def password_step(client: Client, user: User, password: str = PASSWORD):
    return client.post(LOGIN, {"email": user.email, "password": password})


def assert_skips_step_two(client: Client, user: User) -> None:
    response = password_step(client, user)
    assert response.status_code == 302 and response.url == PROFILE, response
    assert client.session["_auth_user_id"] == str(user.pk)


def assert_asks_for_the_code(client: Client, user: User, password: str = PASSWORD) -> None:
    response = password_step(client, user, password)
    assert response.status_code == 302 and response.url == VERIFY, response
    assert "_auth_user_id" not in client.session


@pytest.fixture
def user_with_mfa(user) -> User:
    add_fake_device(user)
    return user


# -- the offer at step 2 -------------------------------------------------------

def test_step_two_offers_to_trust_this_browser_for_30_days(client, user_with_mfa):
    password_step(client, user_with_mfa)

    page = html.unescape(client.get(VERIFY).content.decode())

    assert BOX in page and 'name="remember_browser"' in page and 'type="checkbox"' in page


def test_step_two_without_the_box_ticked_trusts_nothing(client, user_with_mfa):
    sign_in(client, user_with_mfa)

    assert COOKIE not in client.cookies
    assert not TrustedBrowser.objects.exists()


def test_trust_turned_off_offers_no_box_and_ignores_a_ticked_one(client, user_with_mfa, settings):
    settings.ACCOUNTS_TRUSTED_BROWSER_DAYS = 0
    password_step(client, user_with_mfa)
    assert BOX not in html.unescape(client.get(VERIFY).content.decode())

    response = client.post(VERIFY, {"code": FAKE_CODE, "remember_browser": "on"})

    assert response.status_code == 302 and response.url == PROFILE
    assert COOKIE not in client.cookies and not TrustedBrowser.objects.exists()


def test_trusting_a_browser_stores_only_the_token_hash(user_with_mfa):
    client = browser()

    trust(client, user_with_mfa)

    token = client.cookies[COOKIE].value
    row = TrustedBrowser.objects.get()
    assert len(token) >= 43 and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not TrustedBrowser.objects.filter(token_hash=token).exists()
    assert (row.user, row.label, row.ip_address) == (user_with_mfa, "Firefox on Linux", "198.51.100.20")
    assert row.expires_at - row.created_at == timedelta(days=30) and row.last_used_at is None
    event = AuditEvent.objects.get(event_type=trusted_browsers.BROWSER_TRUSTED)
    assert event.actor == user_with_mfa and event.data["browser_id"] == row.pk and token not in str(event.data)


def test_trust_cookie_is_http_only_lax_and_lasts_the_period(user_with_mfa):
    client = browser()

    cookie = trust(client, user_with_mfa).cookies[COOKIE]

    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert cookie["max-age"] == 30 * 24 * 60 * 60
    assert not cookie["secure"] and not cookie["domain"]


def test_trust_cookie_uses_the_host_prefix_and_secure_over_https(user_with_mfa, settings):
    settings.SESSION_COOKIE_SECURE = True
    client = Client(HTTP_USER_AGENT=FIREFOX)
    client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD}, secure=True)

    response = client.post(VERIFY, {"code": FAKE_CODE, "remember_browser": "on"}, secure=True)

    cookie = response.cookies[f"__Host-{COOKIE}"]
    assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"]
    client.post(reverse("accounts:logout"), secure=True)
    response = client.post(LOGIN, {"email": user_with_mfa.email, "password": PASSWORD}, secure=True)
    assert response.url == PROFILE


# -- honouring it ------------------------------------------------------------------

def test_trusted_browser_skips_step_two_after_the_right_password(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)

    assert_skips_step_two(client, user_with_mfa)

    signed_in = AuditEvent.objects.filter(event_type=audit.SIGN_IN_SUCCEEDED).first()
    assert signed_in.method == trusted_browsers.SIGN_IN_METHOD
    used = AuditEvent.objects.get(event_type=trusted_browsers.BROWSER_USED)
    assert used.actor == user_with_mfa and used.method == "trusted_browser"
    assert TrustedBrowser.objects.get().last_used_at is not None
    assert re.search(r"<td[^>]*>Trusted browser</td>", client.get(PROFILE).content.decode())  # says how, in words


def test_trusted_sign_in_is_otp_verified_with_the_users_own_device(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)

    assert_skips_step_two(client, user_with_mfa)

    device = Device.from_persistent_id(client.session[DEVICE_ID_SESSION_KEY])
    assert device is not None and device.user_id == user_with_mfa.pk
    assert device.persistent_id == user_with_mfa.fakedevice_set.get().persistent_id


def test_trusted_sign_in_still_asks_for_the_code_at_step_up(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)
    assert_skips_step_two(client, user_with_mfa)

    response = client.get(reverse("mfa:default_method"))

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:reauthenticate"))
    page = client.get(response.url).content.decode()
    assert 'name="code"' in page


def test_trusted_browser_with_a_wrong_password_gets_nothing(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)

    response = password_step(client, user_with_mfa, "not the password at all")

    assert response.status_code == 200 and "Incorrect email or password." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(event_type=trusted_browsers.BROWSER_USED).exists()


def test_stolen_trust_cookie_without_the_password_gets_nothing(user_with_mfa):
    owner = trusted_browser_of(user_with_mfa)
    thief = browser(ip="203.0.113.66")
    thief.cookies[COOKIE] = owner.cookies[COOKIE].value

    assert thief.get(PROFILE).url.startswith(LOGIN)
    response = password_step(thief, user_with_mfa, "a guess at the password")
    assert "Incorrect email or password." in response.content.decode()
    assert "_auth_user_id" not in thief.session
    assert thief.get(VERIFY).url == LOGIN  # no half-done sign-in either


def test_trust_token_of_another_user_is_refused(user_with_mfa, make_user):
    other = make_user("other@example.test")
    add_fake_device(other)
    others_browser = trusted_browser_of(other)
    client = browser()
    client.cookies[COOKIE] = others_browser.cookies[COOKIE].value

    assert_asks_for_the_code(client, user_with_mfa)
    assert_skips_step_two(others_browser, other)  # still good for its own user


def test_forged_trust_cookie_is_refused(user_with_mfa):
    trusted_browser_of(user_with_mfa)
    client = browser()
    client.cookies[COOKIE] = "x" * 43

    assert_asks_for_the_code(client, user_with_mfa)


def test_trusting_a_browser_again_for_another_user_replaces_the_first(user_with_mfa, make_user):
    other = make_user("other@example.test")
    add_fake_device(other)
    client = trusted_browser_of(user_with_mfa)
    first = TrustedBrowser.objects.get(user=user_with_mfa)

    trust(client, other)
    client.post(reverse("accounts:logout"))

    first.refresh_from_db()
    assert first.revoked_at is not None and first.revoked_reason == "replaced"
    assert TrustedBrowser.objects.filter(revoked_at=None).get().user == other
    assert_asks_for_the_code(client, user_with_mfa)


# -- every cause that ends trust ----------------------------------------------------

def test_trust_ends_when_the_password_changes(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)
    assert_skips_step_two(client, user_with_mfa)
    client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "changed passphrase 2024",
        "new_password_confirm": "changed passphrase 2024"})
    client.post(reverse("accounts:logout"))

    assert_asks_for_the_code(client, user_with_mfa, "changed passphrase 2024")
    assert TrustedBrowser.objects.get().revoked_reason == "security_change"


def test_trust_ends_when_a_method_is_added(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)

    enrol(user_with_mfa)

    assert_asks_for_the_code(client, user_with_mfa)


def test_trust_ends_when_a_method_is_removed(user):
    add_fake_device(user)
    enrol(user)
    client = trusted_browser_of(user)
    assert_skips_step_two(client, user)
    client.post(reverse("accounts:logout"))

    assert totp_flows.disable_totp(flow_request(user), user=user) is None

    assert_asks_for_the_code(client, user)


def test_trust_ends_when_backup_codes_are_regenerated(user_with_mfa):
    set_up_codes(user_with_mfa)
    client = trusted_browser_of(user_with_mfa)

    backup_code_flows.regenerate_codes(backup_flow_request(user_with_mfa), user=user_with_mfa)

    assert_asks_for_the_code(client, user_with_mfa)


def test_trust_ends_when_an_administrator_resets_a_method(acme, rf):
    add_fake_device(acme.alice)
    enrol(acme.alice)
    client = trusted_browser_of(acme.alice)
    request = rf.post("/")
    request.user = acme.admin

    assert reset_member_method(request, actor=acme.admin, agency=acme.agency, target=acme.alice,
                               method=get_method("totp"))

    assert_asks_for_the_code(client, acme.alice)  # the fake method is left, and asked for


def test_trust_ends_when_the_session_stamp_rotates(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)

    user_with_mfa.end_all_sessions()

    assert_asks_for_the_code(client, user_with_mfa)


def test_trust_ends_after_30_days(user_with_mfa, clock):
    client = trusted_browser_of(user_with_mfa)
    clock.advance(timedelta(days=30).total_seconds() - 60)
    assert_skips_step_two(client, user_with_mfa)
    client.post(reverse("accounts:logout"))

    clock.advance(120)

    assert_asks_for_the_code(client, user_with_mfa)


def test_trust_ends_early_when_the_period_is_shortened(user_with_mfa, clock, settings):
    client = trusted_browser_of(user_with_mfa)
    clock.advance(timedelta(days=8).total_seconds())

    settings.ACCOUNTS_TRUSTED_BROWSER_DAYS = 7

    assert_asks_for_the_code(client, user_with_mfa)


def test_trust_is_not_honoured_once_turned_off(user_with_mfa, settings):
    client = trusted_browser_of(user_with_mfa)

    settings.ACCOUNTS_TRUSTED_BROWSER_DAYS = 0

    assert_asks_for_the_code(client, user_with_mfa)


def test_trust_ends_with_a_password_reset(user_with_mfa, django_capture_on_commit_callbacks):
    client = trusted_browser_of(user_with_mfa)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset_request"), {"email": user_with_mfa.email})
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[-1].body)[1]
    assert client.get(link).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {
            "new_password": "a new long passphrase", "new_password_confirm": "a new long passphrase"})

    row = TrustedBrowser.objects.get()
    assert row.revoked_at is not None and row.revoked_reason == "password_reset"
    assert_asks_for_the_code(client, user_with_mfa, "a new long passphrase")
    revoked = AuditEvent.objects.get(event_type=trusted_browsers.BROWSER_REVOKED)
    assert revoked.data["reason"] == "password_reset" and revoked.target_user == user_with_mfa


# -- the Profile: list, revoke, revoke all ------------------------------------------

@pytest.fixture
def owner(user_with_mfa) -> tuple[User, Client]:
    """``user`` with two trusted browsers, signed in (through trust) on the second, and re-authenticated."""
    trusted_browser_of(user_with_mfa, ip="198.51.100.21")
    client = trusted_browser_of(user_with_mfa, ip="198.51.100.22")
    assert_skips_step_two(client, user_with_mfa)
    assert reauthenticate(client, user_with_mfa).status_code == 302
    return user_with_mfa, client


def profile_rows(client: Client) -> list[str]:
    page = client.get(PROFILE).content.decode()
    section = page.split('id="trusted-browsers"')[1].split("</section>")[0]
    return re.findall(r'<tr class="trusted-browser-row"[^>]*>(.*?)</tr>', section, re.S)


def test_profile_lists_trusted_browsers(owner):
    user, client = owner

    rows = profile_rows(client)

    assert len(rows) == 2
    assert "198.51.100.22" in rows[0] and "(this browser)" in rows[0] and "Firefox on Linux" in rows[0]
    assert "198.51.100.21" in rows[1] and "(this browser)" not in rows[1] and "Not yet" in rows[1]
    expires = TrustedBrowser.objects.order_by("-created_at").first().expires_at
    assert f'datetime="{expires.isoformat()[:16]}' in rows[0]


def test_profile_hides_browsers_whose_trust_has_ended(owner):
    user, client = owner

    enrol(user)

    assert profile_rows(client) == []


def test_revoke_one_trusted_browser(owner):
    user, client = owner
    other_browser = TrustedBrowser.objects.get(ip_address="198.51.100.21")

    response = client.post(reverse("accounts:trusted_browser_revoke", args=[other_browser.pk]))

    assert response.status_code == 302 and response.url == PROFILE + "#trusted-browsers"
    other_browser.refresh_from_db()
    assert other_browser.revoked_at is not None and other_browser.revoked_reason == "user"
    assert len(profile_rows(client)) == 1
    event = AuditEvent.objects.get(event_type=trusted_browsers.BROWSER_REVOKED)
    assert event.actor == user and event.data["browser_ids"] == [other_browser.pk]
    page = client.get(PROFILE).content.decode()
    assert "The browser was revoked" not in page  # the message was shown once, on the redirect


def test_revoked_browser_asks_for_the_code_again(owner):
    user, client = owner
    this_browser = TrustedBrowser.objects.get(ip_address="198.51.100.22")
    client.post(reverse("accounts:trusted_browser_revoke", args=[this_browser.pk]))
    client.post(reverse("accounts:logout"))

    assert_asks_for_the_code(client, user)


def test_revoke_all_trusted_browsers(owner):
    user, client = owner

    response = client.post(REVOKE_ALL, follow=True)

    assert "2 browsers were revoked" in response.content.decode()
    assert not TrustedBrowser.objects.filter(revoked_at=None).exists()
    assert set(TrustedBrowser.objects.values_list("revoked_reason", flat=True)) == {"user"}
    client.post(reverse("accounts:logout"))
    assert_asks_for_the_code(client, user)


def test_revoke_after_step_up_asks_once_more_on_a_page(user_with_mfa):
    client = trusted_browser_of(user_with_mfa)
    assert_skips_step_two(client, user_with_mfa)
    row = TrustedBrowser.objects.get()
    url = reverse("accounts:trusted_browser_revoke", args=[row.pk])

    response = client.post(url)

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:reauthenticate"))
    row.refresh_from_db()
    assert row.revoked_at is None
    reauthenticate(client, user_with_mfa)
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Revoke this trusted browser?" in confirm.content.decode()
    assert client.post(url).status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_revoke_another_users_browser_is_404(owner, make_user, method):
    user, client = owner
    other = make_user("other@example.test")
    add_fake_device(other)
    trusted_browser_of(other)
    theirs = TrustedBrowser.objects.get(user=other)

    response = getattr(client, method)(reverse("accounts:trusted_browser_revoke", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert not AuditEvent.objects.filter(event_type=trusted_browsers.BROWSER_REVOKED).exists()


def test_revoke_a_browser_already_revoked_is_404(owner):
    user, client = owner
    row = TrustedBrowser.objects.get(ip_address="198.51.100.21")
    url = reverse("accounts:trusted_browser_revoke", args=[row.pk])
    assert client.post(url).status_code == 302

    assert client.post(url).status_code == 404
    assert AuditEvent.objects.filter(event_type=trusted_browsers.BROWSER_REVOKED).count() == 1


def test_revoke_all_leaves_other_users_browsers(owner, make_user):
    user, client = owner
    other = make_user("other@example.test")
    add_fake_device(other)
    trusted_browser_of(other)

    client.post(REVOKE_ALL)

    assert TrustedBrowser.objects.filter(user=other, revoked_at=None).count() == 1
