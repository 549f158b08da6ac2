"""Sign-in in two steps with the test-only "fake" method (code 424242)."""
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import AuditEvent
from mfa.app_settings import app_settings as mfa_settings
from tests.accounts.helpers import let_device_wait_pass
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device
from tests.fake_method.models import FakeDevice
from tests.urlwalk import resolvable, walk

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"
# What a half-signed-in session may still reach.
# Step 2, sign-out, and step 2's "Sending…/Sent" status for a texted code.
PARTIAL_SIGN_IN_ALLOWED = {"accounts:login_verify", "accounts:logout", "sms_delivery_status"}


def step_one(client, user, *, next_url: str | None = None, password: str = PASSWORD):
    data = {"email": user.email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post(LOGIN, data)


def step_two(client, code: str = FAKE_CODE):
    return client.post(VERIFY, {"code": code})


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_password_step_with_second_factor_redirects_to_step_two(client, user_with_mfa):
    response = step_one(client, user_with_mfa)

    assert response.status_code == 302
    assert response.url == reverse("accounts:login_verify")
    page = client.get(VERIFY)
    assert page.status_code == 200
    assert "Two-factor authentication" in page.content.decode()
    assert 'autocomplete="one-time-code"' in page.content.decode()


def test_password_step_alone_does_not_sign_in(client, user_with_mfa):
    step_one(client, user_with_mfa)

    response = client.get(VERIFY)

    seen = response.wsgi_request.user
    assert not seen.is_authenticated
    assert not seen.is_verified()
    assert "_auth_user_id" not in client.session
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(event_type="signin.succeeded").exists()


def test_half_signed_in_session_is_sent_to_step_two_from_every_url(client, user_with_mfa):
    urls, problems = resolvable(walk())
    assert not problems, problems
    assert {url.name for url in urls} >= {"accounts:profile", "accounts:login", "mfa:default_method"}
    step_one(client, user_with_mfa)

    wrong = []
    for url in urls:
        response = client.get(url.path)
        if url.name in PARTIAL_SIGN_IN_ALLOWED:
            if response.status_code != 200:
                wrong.append(f"{url.label()}: {response.status_code}, expected 200")
        elif response.status_code != 302 or response.url != VERIFY:
            wrong.append(f"{url.label()}: {response.status_code} {getattr(response, 'url', '')}")

    assert not wrong, "\n".join(wrong)
    assert "_auth_user_id" not in client.session


def test_half_signed_in_session_posting_elsewhere_is_sent_to_step_two(client, user_with_mfa):
    step_one(client, user_with_mfa)

    response = client.post(reverse("accounts:profile"), {"name": "Changed While Half Signed In"})

    assert response.status_code == 302
    assert response.url == VERIFY
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.name == "Ursula User"


def test_half_signed_in_session_can_sign_out(client, user_with_mfa):
    step_one(client, user_with_mfa)
    key = session_key(client)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(VERIFY).url == reverse("accounts:login")  # nothing pending any more


def test_session_key_changes_after_each_step(client, user_with_mfa):
    anonymous = client.session  # the test client creates and stores a session
    anonymous["seen"] = True
    anonymous.save()
    key_before = session_key(client)

    step_one(client, user_with_mfa)
    key_after_password = session_key(client)
    step_two(client)
    key_after_code = session_key(client)

    assert len({key_before, key_after_password, key_after_code}) == 3
    assert not Session.objects.filter(session_key__in=[key_before, key_after_password]).exists()
    assert Session.objects.filter(session_key=key_after_code).exists()


def test_second_step_signs_in_and_marks_session_verified(client, user_with_mfa):
    device = FakeDevice.objects.get(user=user_with_mfa)
    step_one(client, user_with_mfa)

    response = step_two(client)

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert client.session["_auth_user_id"] == str(user_with_mfa.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    page = client.get(PROFILE)
    assert page.status_code == 200
    seen = page.wsgi_request.user
    assert seen.is_authenticated and seen.pk == user_with_mfa.pk
    assert seen.is_verified()
    assert seen.otp_device == device
    success = AuditEvent.objects.get(event_type="signin.succeeded")
    assert (success.actor, success.target_user, success.method) == (user_with_mfa, user_with_mfa, "fake")


def test_second_step_with_wrong_code_shows_error_and_is_audited(client, user_with_mfa):
    step_one(client, user_with_mfa)

    response = step_two(client, code="000000")

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Incorrect code."]
    assert "Incorrect code." in response.content.decode()
    assert "_auth_user_id" not in client.session
    failure = AuditEvent.objects.get(event_type="signin.second_factor_failed")
    assert failure.actor is None
    assert failure.target_user == user_with_mfa
    assert failure.method == "fake"
    assert failure.data["error"] == "incorrect_code"
    assert "000000" not in str(failure.data)
    # Still on step 2: once the device's short wait is over, the right code works.
    let_device_wait_pass(user_with_mfa)
    assert step_two(client).url == reverse("accounts:profile")


def test_second_step_when_device_is_throttled_shows_wait_message(client, user_with_mfa):
    step_one(client, user_with_mfa)
    step_two(client, code="111111")
    # As if that wrong code had been the tenth in a row: django-otp now
    # makes the device wait 2**9 seconds.
    FakeDevice.objects.filter(user=user_with_mfa).update(
        throttling_failure_count=10, throttling_failure_timestamp=timezone.now())

    response = step_two(client)  # even the right code

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Too many attempts. Wait and retry."]
    assert "_auth_user_id" not in client.session
    throttled = AuditEvent.objects.filter(event_type="signin.second_factor_failed").latest("id")
    assert throttled.data["error"] == "throttled"


def test_password_step_without_second_factor_signs_in(client, user):
    response = step_one(client, user)

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    page = client.get(PROFILE)
    assert page.status_code == 200
    assert page.wsgi_request.user == user
    assert not page.wsgi_request.user.is_verified()  # no second factor was given
    assert AuditEvent.objects.get(event_type="signin.succeeded").method == "password"


@pytest.mark.parametrize("evil", [
    "https://evil.example/",
    "//evil.example",
    "///evil.example/",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(document.cookie)",
    " javascript:alert(1)",
])
def test_sign_in_ignores_next_to_another_site(client, user_with_mfa, evil):
    login_page = client.get(LOGIN, {"next": evil})
    assert evil not in login_page.content.decode()

    assert step_one(client, user_with_mfa, next_url=evil).url == VERIFY
    response = step_two(client)

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example", "javascript:alert(1)"])
def test_sign_in_without_second_factor_ignores_next_to_another_site(client, user, evil):
    response = step_one(client, user, next_url=evil)

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")


def test_sign_in_honours_local_next_after_both_steps(client, user_with_mfa):
    wanted = "/account/password/?from=link"
    login_page = client.get(LOGIN, {"next": wanted})
    assert 'name="next" value="/account/password/?from=link"' in login_page.content.decode()

    assert step_one(client, user_with_mfa, next_url=wanted).url == VERIFY
    response = step_two(client)

    assert response.status_code == 302
    assert response.url == wanted


def test_sign_in_honours_next_from_query_string(client, user_with_mfa):
    response = client.post(f"{LOGIN}?next=/account/password/",
                           {"email": user_with_mfa.email, "password": PASSWORD})
    assert response.url == VERIFY

    assert step_two(client).url == "/account/password/"


def test_protected_page_sends_anonymous_visitor_to_sign_in_and_back(client, user_with_mfa):
    response = client.get(PROFILE)
    target = urlsplit(response.url)
    assert target.path == LOGIN
    next_url = parse_qs(target.query)["next"][0]

    step_one(client, user_with_mfa, next_url=next_url)

    assert step_two(client).url == PROFILE


def test_pending_sign_in_expires_after_timeout(client, user_with_mfa, clock):
    step_one(client, user_with_mfa)
    clock.advance(mfa_settings.PENDING_SIGN_IN_TIMEOUT + 1)

    response = step_two(client)

    assert response.status_code == 400
    assert "Sign-in expired" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Nothing is pending any more: other pages no longer send us to step 2.
    assert client.get(PROFILE).url.startswith(LOGIN)


def test_pending_sign_in_expired_step_two_page_sends_to_sign_in(client, user_with_mfa, clock):
    step_one(client, user_with_mfa)
    clock.advance(mfa_settings.PENDING_SIGN_IN_TIMEOUT + 1)

    response = client.get(VERIFY)

    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert client.get(LOGIN).status_code == 200


def test_pending_sign_in_just_before_timeout_still_works(client, user_with_mfa, clock):
    step_one(client, user_with_mfa)
    clock.advance(mfa_settings.PENDING_SIGN_IN_TIMEOUT - 5)

    assert step_two(client).url == reverse("accounts:profile")


def test_second_step_for_device_removed_mid_sign_in_ends_the_attempt(client, user_with_mfa):
    step_one(client, user_with_mfa)
    FakeDevice.objects.filter(user=user_with_mfa).delete()

    response = step_two(client)

    assert response.status_code == 400
    assert "Sign-in expired" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_step_two_page_offers_sign_out(client, user_with_mfa):
    step_one(client, user_with_mfa)

    page = client.get(VERIFY).content.decode()

    assert f'action="{reverse("accounts:logout")}"' in page
    assert "Cancel and sign out" in page


def test_second_user_sign_in_does_not_reuse_first_users_pending_state(client, user_with_mfa, make_user):
    other = make_user("other@example.test")
    add_fake_device(other, code="777777")
    step_one(client, user_with_mfa)
    client.post(reverse("accounts:logout"))

    step_one(client, other)

    assert step_two(client).status_code == 200  # 424242 is not other's code
    let_device_wait_pass(other)
    assert step_two(client, code="777777").url == reverse("accounts:profile")
    assert client.session["_auth_user_id"] == str(other.pk)


def test_second_step_submitted_twice_leaves_user_signed_in(client, user_with_mfa):
    step_one(client, user_with_mfa)
    assert step_two(client).url == reverse("accounts:profile")

    again = step_two(client)  # a double click on "Verify"

    assert again.status_code == 302
    assert again.url == reverse("accounts:profile")
    assert client.session["_auth_user_id"] == str(user_with_mfa.pk)
    assert AuditEvent.objects.filter(event_type="signin.succeeded").count() == 1
