"""Google Authenticator at sign-in step 2 and at step-up re-authentication."""
from html import unescape

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.decorators import otp_required

from accounts.models import AuditEvent
from ctm_auth.dates import format_day
from mfa.registry import get_method, load_user_with_states
from mfa.totp import flows
from mfa.totp.models import TOTPDevice
from tests.conftest import PASSWORD, let_step_up_window_pass
from tests.mfa.totp.conftest import code_for, reauthenticate_with_totp, sign_in_with_totp
from tests.urlwalk import walk

pytestmark = pytest.mark.django_db

VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"


def wrong_code(device: TOTPDevice) -> str:
    """A well-formed code that is not valid anywhere in the window."""
    window = {code_for(device, steps=s) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


def page_text(response) -> str:
    return unescape(response.content.decode())


def test_method_is_registered_first_with_seed_label():
    method = get_method("totp")
    assert method is not None and str(method.label) == "Google Authenticator"
    assert method.is_primary and method.manage_url_name == "mfa:totp:manage"
    assert reverse(method.manage_url_name) == "/mfa/totp/"


def test_every_totp_view_is_behind_reauthentication():
    totp_urls = [url for url in walk() if url.name and url.name.startswith("mfa:totp:")]
    assert {url.name for url in totp_urls} == {
        "mfa:totp:manage", "mfa:totp:start", "mfa:totp:setup", "mfa:totp:cancel", "mfa:totp:disable"}
    assert all(getattr(url.callback, "reauthentication_required", False) for url in totp_urls)


def test_sign_in_step_two_with_current_code_signs_in_verified(client, user, totp_device):
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    assert response.url == VERIFY
    page = client.get(VERIFY)
    assert "Google Authenticator" in page_text(page)
    assert "enter the 6-digit code shown for this account" in page_text(page)
    response = client.post(VERIFY, {"code": code_for(totp_device)})
    assert response.status_code == 302 and response.url == PROFILE
    assert client.session[DEVICE_ID_SESSION_KEY] == totp_device.persistent_id
    request = client.get(PROFILE).wsgi_request
    assert request.user.is_verified() and request.user.otp_device == totp_device
    assert otp_required(lambda r: HttpResponse("secret page"))(request).status_code == 200
    event = AuditEvent.objects.filter(event_type="signin.succeeded").get()
    assert (event.actor, event.method) == (user, "totp")


def test_otp_required_refuses_session_signed_in_without_totp(client, user, totp_device):
    # Not verified: signed in by password only (no device involved).
    TOTPDevice.objects.filter(user=user).update(confirmed=False)
    client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    request = client.get(PROFILE).wsgi_request
    assert request.user.is_authenticated and not request.user.is_verified()
    assert otp_required(lambda r: HttpResponse("secret page"))(request).status_code == 302


def test_sign_in_step_two_with_spaced_code_is_accepted(client, user, totp_device):
    code = code_for(totp_device)
    assert sign_in_with_totp(client, user, totp_device, code=f"{code[:3]} {code[3:]}").status_code == 302


@pytest.mark.parametrize("steps", [-1, 1])
def test_sign_in_step_two_accepts_one_step_of_drift(client, user, totp_device, clock, steps):
    clock.advance(totp_device.step)  # keep clear of the step enrolment used
    assert sign_in_with_totp(client, user, totp_device, code=code_for(totp_device, steps=steps)).status_code == 302
    assert TOTPDevice.objects.get(pk=totp_device.pk).drift == steps


@pytest.mark.parametrize("steps", [-2, 2])
def test_sign_in_step_two_refuses_two_steps_of_drift(client, user, totp_device, clock, steps):
    clock.advance(totp_device.step * 2)
    response = sign_in_with_totp(client, user, totp_device, code=code_for(totp_device, steps=steps))
    assert response.status_code == 200 and "That code is not correct." in page_text(response)


def test_sign_in_step_two_wrong_code_shows_wait_and_audits_throttle_state(client, user, totp_device):
    response = sign_in_with_totp(client, user, totp_device, code=wrong_code(totp_device))
    assert response.status_code == 200
    assert "That code is not correct." in page_text(response) and "Try again in 1 second." in page_text(response)
    assert not response.wsgi_request.user.is_authenticated
    failure = AuditEvent.objects.get(event_type=flows.TOTP_VERIFICATION_FAILED)
    assert failure.target_user == user and failure.actor is None
    assert failure.data == {"purpose": "sign_in", "error": "incorrect_code", "failure_count": 1, "retry_after": 1}
    signin_failure = AuditEvent.objects.get(event_type="signin.second_factor_failed")
    assert signin_failure.method == "totp" and signin_failure.data["failure_count"] == 1


def test_sign_in_step_two_throttle_grows_and_is_shown(client, user, totp_device, clock):
    client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    shown = []
    for attempt in range(4):
        if attempt:
            clock.advance(TOTPDevice.objects.get(pk=totp_device.pk).throttle_wait())
        shown.append(page_text(client.post(VERIFY, {"code": wrong_code(totp_device)})))
    for page, wait in zip(shown, ["1 second", "2 seconds", "4 seconds", "8 seconds"], strict=True):
        assert "That code is not correct. Check that your phone sets its clock automatically" in page
        assert f"Try again in {wait}." in page
    # While the wait runs, even the right code is refused, and the time left is shown.
    clock.advance(3)
    blocked = client.post(VERIFY, {"code": code_for(totp_device)})
    assert "Too many wrong codes. Try again in " in page_text(blocked)
    throttled = AuditEvent.objects.filter(event_type=flows.TOTP_VERIFICATION_FAILED).order_by("pk").last()
    assert throttled.data["error"] == "throttled" and throttled.data["failure_count"] == 4
    assert 0 < throttled.data["retry_after"] <= 5
    assert f"Try again in {throttled.data['retry_after']} second" in page_text(blocked)
    clock.advance(5)
    assert client.post(VERIFY, {"code": code_for(totp_device)}).status_code == 302


def test_sign_in_step_two_long_wait_is_shown_in_minutes(client, user, totp_device, clock, settings):
    settings.MFA_TOTP_THROTTLE_FACTOR = 30
    client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    for wait in (30, 60, 120):
        client.post(VERIFY, {"code": wrong_code(totp_device)})
        clock.advance(wait)
    fourth = client.post(VERIFY, {"code": wrong_code(totp_device)})
    assert "Try again in 4 minutes." in page_text(fourth)
    clock.advance(60)
    blocked = client.post(VERIFY, {"code": code_for(totp_device)})
    assert "Too many wrong codes. Try again in 3 minutes." in page_text(blocked)


def test_sign_in_step_two_throttle_is_shared_by_every_session(user, totp_device, settings):
    settings.MFA_TOTP_THROTTLE_FACTOR = 60  # a wait no slow test run can outlast
    first, second = Client(), Client()
    sign_in_with_totp(first, user, totp_device, code=wrong_code(totp_device))
    second.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    response = second.post(VERIFY, {"code": code_for(totp_device)})
    assert "Too many wrong codes. Try again in" in page_text(response)
    last = AuditEvent.objects.filter(event_type=flows.TOTP_VERIFICATION_FAILED).order_by("pk").last()
    assert last.data["error"] == "throttled"


def test_sign_in_step_two_replayed_code_is_refused(user, totp_device):
    code = code_for(totp_device)
    assert sign_in_with_totp(Client(), user, totp_device, code=code).status_code == 302
    response = sign_in_with_totp(Client(), user, totp_device, code=code)
    assert response.status_code == 200
    assert "That code was already used. Wait for your app to show a new code." in page_text(response)
    assert AuditEvent.objects.get(event_type=flows.TOTP_VERIFICATION_FAILED).data["error"] == "code_reused"


BAD_CODES = [
    ("", "Enter the code."),
    ("12345", "exactly 6 digits"),
    ("1234567", "exactly 6 digits"),
    ("abcdef", "only the digits 0–9"),
    ("１２３４５６", "only the digits 0–9"),
    ("12 345", "exactly 6 digits"),
    ("9" * 10_000, "at most 64 characters"),
]


@pytest.mark.parametrize(("code", "message"), BAD_CODES)
def test_sign_in_step_two_malformed_code_gets_form_error(client, user, totp_device, code, message):
    response = sign_in_with_totp(client, user, totp_device, code=code)
    assert response.status_code == 200 and message in page_text(response)
    assert not response.wsgi_request.user.is_authenticated
    assert TOTPDevice.objects.get(pk=totp_device.pk).throttling_failure_count == 0


def test_reauthenticate_with_totp_opens_sensitive_pages(client, user, totp_device, clock):
    sign_in_with_totp(client, user, totp_device)
    let_step_up_window_pass()
    assert client.get("/mfa/totp/").status_code == 302
    page = client.get(reverse("accounts:reauthenticate"))
    assert "Google Authenticator" in page_text(page)
    clock.advance(totp_device.step)
    response = reauthenticate_with_totp(client, totp_device)
    assert response.status_code == 302
    assert client.get("/mfa/totp/").status_code == 200
    assert AuditEvent.objects.get(event_type="reauth.succeeded").method == "totp"


def test_reauthenticate_with_wrong_totp_code_is_refused_and_audited(client, user, totp_device, clock):
    sign_in_with_totp(client, user, totp_device)
    let_step_up_window_pass()
    clock.advance(totp_device.step)
    response = reauthenticate_with_totp(client, totp_device, code=wrong_code(totp_device))
    assert response.status_code == 200 and "That code is not correct." in page_text(response)
    assert client.get("/mfa/totp/").status_code == 302
    failure = AuditEvent.objects.get(event_type=flows.TOTP_VERIFICATION_FAILED)
    assert failure.actor == user and failure.data["purpose"] == "reauth"


@pytest.mark.parametrize(("code", "message"), BAD_CODES)
def test_reauthenticate_with_malformed_totp_code_gets_form_error(client, user, totp_device, clock, code, message):
    sign_in_with_totp(client, user, totp_device)
    let_step_up_window_pass()
    clock.advance(totp_device.step)
    response = reauthenticate_with_totp(client, totp_device, code=code)
    assert response.status_code == 200 and message in page_text(response)
    assert client.get("/mfa/totp/").status_code == 302


def test_reauthenticate_with_code_just_used_to_sign_in_is_refused(client, user, totp_device):
    code = code_for(totp_device)
    sign_in_with_totp(client, user, totp_device, code=code)
    response = reauthenticate_with_totp(client, totp_device, code=code)
    assert response.status_code == 200 and "That code was already used." in page_text(response)


def test_status_detail_on_profile_says_when_it_was_set_up(client, user, totp_device):
    sign_in_with_totp(client, user, totp_device)
    html = page_text(client.get(PROFILE))
    confirmed_at = TOTPDevice.objects.get(pk=totp_device.pk).confirmed_at
    assert confirmed_at is not None and f"Enabled · set up {format_day(confirmed_at)}" in html


def test_the_set_up_date_is_the_newest_confirmed_devices_and_goes_with_it(client, user, totp_device, clock):
    """Loaded with the user's states (mfa.registry.user_value), it follows the devices within one request too."""
    totp = get_method("totp")
    clock.advance(3 * 86400)
    newer = TOTPDevice.objects.create(user=user, name="New phone", secret=totp_device.secret, confirmed=True,
                                      confirmed_at=clock.now())
    loaded = load_user_with_states(pk=user.pk)
    assert totp.status_detail(loaded) == f"set up {format_day(newer.confirmed_at)}"

    TOTPDevice.objects.filter(user=user).delete()  # a write to the device table: the loaded value is stale
    assert totp.status_detail(loaded) == ""


def test_remove_all_deletes_active_and_pending_devices(user, totp_device):
    flows.start_enrolment(None, user=user)
    assert get_method("totp").remove_all(user) == 2
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not get_method("totp").is_active_for(user)
