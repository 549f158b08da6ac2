"""The Google Authenticator pages end to end: enrol, abandon, replace, disable."""
import re
from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import AuditEvent
from mfa.totp import flows, otp
from mfa.totp.models import TOTPDevice
from tests.conftest import PASSWORD, add_fake_device, let_step_up_window_pass, sign_in
from tests.mfa.totp.conftest import code_for, enrol, reauthenticate_with_totp, sign_in_with_totp

pytestmark = pytest.mark.django_db

MANAGE = "/mfa/totp/"
START = "/mfa/totp/start/"
SETUP = "/mfa/totp/setup/"
CANCEL = "/mfa/totp/setup/cancel/"
DISABLE = "/mfa/totp/disable/"
PROFILE = "/account/profile/"


def totp_row(html: str) -> str:
    """Return the Profile's Google Authenticator row."""
    match = re.search(r'<tr class="method-row" data-method="totp">.*?</tr>', html, re.S)
    assert match, "no Google Authenticator row on the Profile"
    return match.group(0)


def events(event_type: str):
    return AuditEvent.objects.filter(event_type=event_type)


def start_setup(client) -> TOTPDevice:
    response = client.post(START)
    assert response.status_code == 302 and response.url == SETUP
    return TOTPDevice.objects.filter(confirmed=False).latest("pk")


def confirm(client, pending: TOTPDevice, code: str | None = None, **extra):
    data = {"setup_id": pending.setup_id, "code": code if code is not None else code_for(pending), **extra}
    return client.post(SETUP, data)


# -- the step-up gate ---------------------------------------------------------------

def test_url_names_are_namespaced_under_mfa_totp():
    assert reverse("mfa:totp:manage") == MANAGE
    assert reverse("mfa:totp:start") == START
    assert reverse("mfa:totp:setup") == SETUP
    assert reverse("mfa:totp:cancel") == CANCEL
    assert reverse("mfa:totp:disable") == DISABLE


@pytest.mark.parametrize(("method", "url"), [
    ("get", MANAGE), ("post", START), ("get", SETUP), ("post", SETUP), ("post", CANCEL),
    ("get", DISABLE), ("post", DISABLE),
])
def test_totp_pages_without_reauthentication_redirect_to_reauthenticate(signed_in_client, user, method, url):
    let_step_up_window_pass()  # the sign-in's own window
    response = getattr(signed_in_client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:reauthenticate") + "?next=")
    assert not TOTPDevice.objects.filter(user=user).exists()


@pytest.mark.parametrize("url", [MANAGE, SETUP, DISABLE])
def test_totp_pages_when_signed_out_redirect_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_totp_pages_after_reauth_window_ask_again(reauthenticated_client, clock):
    assert reauthenticated_client.get(MANAGE).status_code == 200
    clock.advance(11 * 60)
    response = reauthenticated_client.get(MANAGE)
    assert response.status_code == 302 and "/account/reauthenticate/" in response.url


def test_profile_add_edit_opens_the_manage_page(signed_in_client):
    row = totp_row(signed_in_client.get(PROFILE).content.decode())
    assert "Google Authenticator" in row and "Not set up" in row
    assert f'href="{MANAGE}"' in row and "Add/Edit" in row


# -- enrolment -----------------------------------------------------------------

def test_manage_page_links_to_the_apps_of_today(reauthenticated_client):
    """The seed's Google link stays; Blackberry and Windows Phone, long gone, are not offered."""
    html = reauthenticated_client.get(MANAGE).content.decode()
    links = dict((unescape(text), unescape(href)) for href, text in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', html))
    assert links["Google Authenticator"] == "https://support.google.com/accounts/answer/1066447?hl=en"
    assert links["Microsoft Authenticator"] == "https://www.microsoft.com/en-us/security/mobile-authenticator-app"
    assert links["1Password"].startswith("https://1password.com/")
    assert links["Authy"].startswith("https://authy.com/")
    assert "Blackberry" not in html and "Windows Phone" not in html
    assert "Set up Google Authenticator" in html


def test_enrol_end_to_end_turns_google_authenticator_on(reauthenticated_client, user, django_capture_on_commit_callbacks):
    client = reauthenticated_client
    pending = start_setup(client)
    page = client.get(SETUP)
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    uri = otp.provisioning_uri(pending.secret, account=user.email, issuer="CallTrackingMetrics")
    assert otp.qr_svg(uri) in html  # the QR code carries exactly the otpauth URI, inline
    assert otp.grouped(pending.secret) in html
    assert "<img" not in html
    # No address the browser fetches carries the secret (no QR image URL, no query string):
    # only the otpauth: link, which hands it to the app on this device and reaches no server.
    urls = [unescape(url) for url in re.findall(r'(?:href|src|action)="([^"]*)"', html)]
    assert [url for url in urls if pending.secret in url] == [uri]
    assert not events(flows.TOTP_ENABLED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, pending)

    # The first method: set-up ends on the new backup codes (tests/mfa/backup_codes/test_first_setup.py).
    assert response.status_code == 302 and response.url == reverse("mfa:backup_codes:new")
    device = TOTPDevice.objects.get(user=user)
    assert device.pk == pending.pk and device.confirmed and device.setup_id is None
    assert "Google Authenticator is on." in client.get(response.url).content.decode()
    row = totp_row(client.get(PROFILE).content.decode())
    assert 'class="in-use-dot"' in row and "Enabled" in row
    event = events(flows.TOTP_ENABLED).get()
    assert (event.actor, event.target_user, event.method) == (user, user, "totp")
    [enabled] = [email for email in mail.outbox if "Google Authenticator" in email.subject]
    assert enabled.to == [user.email]
    assert enabled.subject == "Google Authenticator was turned on for your CallTrackingMetrics account"
    assert pending.secret not in enabled.body
    # The session just proved the device, so django-otp counts it as verified.
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(PROFILE).wsgi_request.user.is_verified()


def test_enrol_issuer_comes_from_the_setting(reauthenticated_client, user, settings):
    settings.MFA_ISSUER = "Acme Calls"
    pending = start_setup(reauthenticated_client)
    html = reauthenticated_client.get(SETUP).content.decode()
    uri = otp.provisioning_uri(pending.secret, account=user.email, issuer="Acme Calls")
    assert otp.qr_svg(uri) in html


def test_enrol_confirm_accepts_code_with_space_inside(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    code = code_for(pending)
    response = confirm(reauthenticated_client, pending, f"{code[:3]} {code[3:]}")
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed


def test_enrol_confirm_accepts_surrounding_whitespace(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    response = confirm(reauthenticated_client, pending, f" {code_for(pending)}\n")
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed


def test_enrol_refresh_of_setup_page_keeps_the_same_key(reauthenticated_client):
    pending = start_setup(reauthenticated_client)
    first = reauthenticated_client.get(SETUP).content.decode()
    second = reauthenticated_client.get(SETUP).content.decode()
    assert otp.grouped(pending.secret) in first and otp.grouped(pending.secret) in second
    assert TOTPDevice.objects.count() == 1


def test_enrol_starting_again_replaces_the_pending_key(reauthenticated_client, user):
    first = start_setup(reauthenticated_client)
    second = start_setup(reauthenticated_client)
    assert first.secret != second.secret
    assert list(TOTPDevice.objects.filter(user=user)) == [second]


def test_enrol_confirm_with_wrong_code_shows_error_and_audits_throttle_state(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    window = {code_for(pending, steps=s) for s in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in window)
    response = confirm(reauthenticated_client, pending, wrong)
    html = response.content.decode()
    assert response.status_code == 200
    assert "That code is not correct." in html and "Try again in 1 second." in html
    assert otp.grouped(pending.secret) in html  # the same QR code stays on the page
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    event = events(flows.TOTP_VERIFICATION_FAILED).get()
    assert event.data == {"purpose": "setup", "error": "incorrect_code", "failure_count": 1, "retry_after": 1}
    assert wrong not in str(event.data)


BAD_CODES = [
    ("", "Enter the 6-digit code"),
    ("12345", "exactly 6 digits"),
    ("1234567", "exactly 6 digits"),
    ("abcdef", "only the digits 0–9"),
    ("12345a", "only the digits 0–9"),
    ("１２３４５６", "only the digits 0–9"),
    (" 12345 ", "exactly 6 digits"),
    ("12 34 5", "exactly 6 digits"),
    ("1" * 10_000, "at most 64 characters"),
    ("123\x00456", "Null characters are not allowed"),
]


@pytest.mark.parametrize(("code", "message"), BAD_CODES)
def test_enrol_confirm_with_malformed_code_gets_form_error(reauthenticated_client, user, code, message):
    pending = start_setup(reauthenticated_client)
    response = confirm(reauthenticated_client, pending, code)
    assert response.status_code == 200
    assert message in unescape(response.content.decode())
    assert list(TOTPDevice.objects.filter(user=user)) == [pending]
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_enrol_confirm_with_non_utf8_body_gets_form_error(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    body = f"setup_id={pending.setup_id}&code=%FF%FE12345".encode()
    response = reauthenticated_client.generic("POST", SETUP, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "only the digits 0–9" in unescape(response.content.decode())
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_enrol_confirm_without_any_fields_gets_form_errors(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    response = reauthenticated_client.post(SETUP, {})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "This set-up is no longer valid" in html and "Enter the 6-digit code" in html
    assert list(TOTPDevice.objects.filter(user=user)) == [pending]


@pytest.mark.parametrize("tamper", [
    lambda real: real + "x",
    lambda real: real[:-1],
    lambda real: "",
    lambda real: "1",
    lambda real: "é" * 20,
    lambda real: "x" * 500,
])
def test_enrol_confirm_with_tampered_setup_id_gets_form_error(reauthenticated_client, user, tamper):
    pending = start_setup(reauthenticated_client)
    response = confirm(reauthenticated_client, pending, setup_id=tamper(pending.setup_id))
    assert response.status_code == 200
    assert "This set-up is no longer valid. Start the set-up again." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    # The real set-up is still there to finish.
    assert confirm(reauthenticated_client, pending).status_code == 302


def test_enrol_confirm_with_another_users_setup_id_gets_form_error(reauthenticated_client, user, make_user):
    other = make_user("other@example.test")
    others_pending = flows.start_enrolment(None, user=other)
    start_setup(reauthenticated_client)
    response = confirm(reauthenticated_client, others_pending)
    assert response.status_code == 200
    assert "This set-up is no longer valid" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_enrol_abandoned_leaves_nothing_active(reauthenticated_client, user):
    start_setup(reauthenticated_client)
    row = totp_row(reauthenticated_client.get(PROFILE).content.decode())
    assert "Not set up" in row and "in-use-dot" not in row
    # Signing in elsewhere asks for no code: nothing is active.
    response = sign_in(Client(), user, code=None)
    assert response.status_code == 302 and response.url == PROFILE


def test_enrol_after_ten_minutes_is_expired(reauthenticated_client, user, clock):
    pending = start_setup(reauthenticated_client)
    clock.advance(10 * 60 + 1)
    reauthenticate_again = reauthenticated_client.post(reverse("accounts:reauthenticate"), {"password": PASSWORD})
    assert reauthenticate_again.status_code == 302
    response = confirm(reauthenticated_client, pending)
    assert response.status_code == 200
    assert "This set-up expired. Start the set-up again to get a new QR code." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert reauthenticated_client.get(SETUP).url == MANAGE


def test_enrol_confirm_twice_second_post_is_refused(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    code = code_for(pending)
    assert confirm(reauthenticated_client, pending, code).status_code == 302
    again = confirm(reauthenticated_client, pending, code)
    assert again.status_code == 200 and "This set-up is no longer valid" in again.content.decode()
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert events(flows.TOTP_ENABLED).count() == 1


def test_enrol_cancel_removes_pending_setup(reauthenticated_client, user):
    start_setup(reauthenticated_client)
    response = reauthenticated_client.post(CANCEL)
    assert response.status_code == 302 and response.url == MANAGE
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_setup_page_without_pending_setup_redirects_to_manage(reauthenticated_client):
    response = reauthenticated_client.get(SETUP)
    assert response.status_code == 302 and response.url == MANAGE


def test_start_setup_by_get_is_refused(reauthenticated_client, user):
    assert reauthenticated_client.get(START).status_code == 405
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_enrolment_code_cannot_be_reused_to_sign_in(reauthenticated_client, user):
    pending = start_setup(reauthenticated_client)
    code = code_for(pending)
    assert confirm(reauthenticated_client, pending, code).status_code == 302
    response = sign_in_with_totp(Client(), user, pending, code=code)
    assert response.status_code == 200
    assert "That code was already used." in response.content.decode()


# -- replace and disable -------------------------------------------------------

@pytest.fixture
def totp_client(client, user, totp_device, clock):
    """A client signed in with Google Authenticator and re-authenticated with it."""
    assert sign_in_with_totp(client, user, totp_device).status_code == 302
    clock.advance(totp_device.step)
    assert reauthenticate_with_totp(client, totp_device).status_code == 302
    clock.advance(totp_device.step)
    return client


def test_manage_page_of_active_method_offers_replace_and_disable(totp_client):
    html = totp_client.get(MANAGE).content.decode()
    assert "Google Authenticator is on." in html
    assert f'action="{START}"' in html and ">Replace<" in html
    assert f'href="{DISABLE}"' in html and ">Disable<" in html


def test_replace_keeps_old_key_until_new_one_is_confirmed(totp_client, user, totp_device,
                                                          django_capture_on_commit_callbacks, clock):
    new = start_setup(totp_client)
    assert "Replace Google Authenticator" in totp_client.get(SETUP).content.decode()
    # Until confirmed, the old app still signs in (from another browser).
    other_browser = Client()
    assert sign_in_with_totp(other_browser, user, totp_device).status_code == 302
    clock.advance(totp_device.step)

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(totp_client, new)

    assert response.status_code == 302 and response.url == PROFILE
    assert list(TOTPDevice.objects.filter(user=user)) == [new]
    assert TOTPDevice.objects.get(pk=new.pk).confirmed
    assert events(flows.TOTP_REPLACED).count() == 1
    assert events(flows.TOTP_ENABLED).count() == 1  # the original enrolment only
    assert [m.subject for m in mail.outbox] == ["Your Google Authenticator key for CallTrackingMetrics was replaced"]
    assert totp_client.get(PROFILE).wsgi_request.user.is_verified()
    clock.advance(totp_device.step)
    # The old key is dead; the new one signs in.
    old_code = otp.generate(totp_device.secret, at=clock.timestamp())
    assert sign_in_with_totp(Client(), user, new, code=old_code).status_code == 200
    clock.advance(new.step)  # past the wait the wrong code earned
    assert sign_in_with_totp(Client(), user, new).status_code == 302


def test_replace_abandoned_keeps_old_key(totp_client, user, totp_device):
    start_setup(totp_client)
    assert totp_client.post(CANCEL).status_code == 302
    assert list(TOTPDevice.objects.filter(user=user)) == [totp_device]
    assert sign_in_with_totp(Client(), user, totp_device).status_code == 302


def test_disable_removes_secret_audits_and_emails(totp_client, user, totp_device,
                                                  django_capture_on_commit_callbacks):
    assert "Disable Google Authenticator" in totp_client.get(DISABLE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = totp_client.post(DISABLE)
    assert response.status_code == 302 and response.url == PROFILE
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert "Not set up" in totp_row(totp_client.get(PROFILE).content.decode())
    event = events(flows.TOTP_DISABLED).get()
    assert (event.actor, event.target_user, event.method) == (user, user, "totp")
    assert [m.subject for m in mail.outbox] == ["Google Authenticator was turned off for your CallTrackingMetrics account"]
    # Sign-in no longer asks for a code.
    response = sign_in(Client(), user, code=None)
    assert response.status_code == 302 and response.url == PROFILE


def test_disable_asks_the_policy_first_and_honours_a_refusal(totp_client, user, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    asked = []

    def refuse(who, method_key):
        asked.append((who.pk, method_key))
        return "Your agency requires two-factor authentication."

    monkeypatch.setattr("mfa.policy.disable_refusal", refuse)
    page = totp_client.get(DISABLE)
    assert "Your agency requires two-factor authentication." in page.content.decode()
    assert 'type="submit" class="danger"' not in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = totp_client.post(DISABLE)
    assert response.status_code == 200
    assert "Your agency requires two-factor authentication." in response.content.decode()
    assert asked == [(user.pk, "totp"), (user.pk, "totp")]
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not events(flows.TOTP_DISABLED).exists() and mail.outbox == []


def test_disable_with_real_policy_refuses_last_primary_method_when_required(totp_client, user, monkeypatch):
    monkeypatch.setattr("mfa.policy.two_factor_required_for", lambda who: True)
    response = totp_client.post(DISABLE)
    assert response.status_code == 200
    assert "cannot disable your last" in response.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    add_fake_device(user)  # another primary method: now it may go
    assert totp_client.post(DISABLE).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_disable_destroys_fallbacks_when_no_primary_is_left(totp_client, user, monkeypatch):
    calls = []
    monkeypatch.setattr("mfa.totp.flows.destroy_fallbacks_if_no_primary",
                        lambda request, *, user, actor=None: calls.append(user.pk) or 0)
    assert totp_client.post(DISABLE).status_code == 302
    assert calls == [user.pk]


def test_disable_page_without_active_method_redirects_to_manage(reauthenticated_client, user):
    response = reauthenticated_client.post(DISABLE)
    assert response.status_code == 302 and response.url == MANAGE
    assert not events(flows.TOTP_DISABLED).exists()


def test_enrol_helper_builds_an_active_device(user):
    device = enrol(user)
    assert device.confirmed and flows.active_device(user) == device
