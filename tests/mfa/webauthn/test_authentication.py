"""A passkey at sign-in step 2, as the whole sign-in, and at step-up; other accounts' keys and copied keys."""
import pytest
from django.core import mail
from django.test import Client

from accounts import audit
from accounts.selectors import recent_sign_in_activity
from mfa.app_settings import app_settings as mfa_settings
from mfa.webauthn import flows
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import PASSWORD, add_fake_device, let_step_up_window_pass
from tests.mfa.webauthn.conftest import (
    LOGIN,
    MANAGE,
    PROFILE,
    VERIFY,
    add_key,
    answer_step_2,
    client_with_key,
    events,
    html,
    key_of,
    sign_in_options,
    sign_in_with_passkey,
    sign_out,
    signed_in_user,
    start_sign_in,
    step_2_options,
    step_up,
    step_up_options,
)
from tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db

NOT_REGISTERED = "This passkey or security key is not registered to an account here."
COPIED = "This security key was refused: its counter went backwards"
FINISH_WITH_PASSWORD = "Enter your password to finish signing in."


@pytest.fixture
def signed_out(client, user_with_key):
    """The browser of ``user_with_key``, signed out: the sign-in page is next."""
    sign_out(client)
    return client


# -- step 2 ------------------------------------------------------------------------

def test_step_2_with_the_key_signs_in_audited_with_the_method(signed_out, user_with_key, authenticator):
    start_sign_in(signed_out, user_with_key)

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out)))

    assert response.status_code == 302 and response.url == PROFILE
    signed_in = signed_in_user(signed_out)
    assert signed_in == user_with_key and signed_in.is_verified()
    assert events(audit.SIGN_IN_SUCCEEDED).latest("pk").method == "webauthn"
    assert key_of(user_with_key).sign_count == 1


def test_step_2_with_another_accounts_key_is_refused_and_audited(signed_out, user_with_key, make_user):
    mallory = make_user("mallory@example.test")
    mallorys_key = SoftwareAuthenticator()
    client_with_key(mallory, mallorys_key)
    start_sign_in(signed_out, user_with_key)
    before = key_of(mallory).sign_count

    # Mallory's own key signs the victim's step-2 challenge.
    response = answer_step_2(signed_out, mallorys_key.get(step_2_options(signed_out)))

    assert response.status_code == 200 and NOT_REGISTERED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert signed_out.get(VERIFY).status_code == 200  # still on step 2
    assert key_of(mallory).sign_count == before
    refusal = events(flows.VERIFICATION_FAILED).get(target_user=user_with_key)
    assert refusal.data["error"] == "unknown_credential" and refusal.data["detail"] == "another user's key"
    step_2_failure = events(audit.SIGN_IN_SECOND_FACTOR_FAILED).get()
    assert step_2_failure.target_user == user_with_key and step_2_failure.data["error"] == "unknown_credential"
    assert not events(audit.SIGN_IN_SUCCEEDED).filter(actor=user_with_key).exclude(method="password").exists()


def test_step_2_offers_only_the_accounts_own_keys(signed_out, user_with_key, make_user):
    client_with_key(make_user("other@example.test"), SoftwareAuthenticator())
    start_sign_in(signed_out, user_with_key)

    options = step_2_options(signed_out)

    assert [item["id"] for item in options["allowCredentials"]] == [key_of(user_with_key).credential_id]
    assert options["rpId"] == "testserver" and options["userVerification"] == "preferred"


def test_step_2_without_the_answer_says_what_to_press(signed_out, user_with_key):
    start_sign_in(signed_out, user_with_key)

    response = answer_step_2(signed_out, "")

    assert response.status_code == 200
    assert "Press “Use your passkey or security key” and follow your browser's prompt." in html(response)
    assert not signed_in_user(signed_out).is_authenticated


def test_step_2_with_a_key_that_skipped_user_verification_still_passes(signed_out, user_with_key, authenticator):
    """At step 2 the password was the first factor: presence of the key is the second."""
    start_sign_in(signed_out, user_with_key)

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), user_verified=False))

    assert response.status_code == 302 and signed_in_user(signed_out).is_verified()


# -- a copied key: the counter ----------------------------------------------------------

def test_a_counter_that_goes_backwards_is_refused_audited_and_emailed(
        signed_out, user_with_key, authenticator, django_capture_on_commit_callbacks):
    start_sign_in(signed_out, user_with_key)
    assert answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), sign_count=41)).status_code == 302
    sign_out(signed_out)
    start_sign_in(signed_out, user_with_key)
    mail.outbox.clear()

    # A copy of the key, whose counter lags behind the original's.
    with django_capture_on_commit_callbacks(execute=True):
        response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), sign_count=7))

    assert response.status_code == 200 and COPIED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert key_of(user_with_key).sign_count == 41
    alarm = events(flows.SIGN_COUNT_WENT_BACKWARDS).get()
    assert alarm.target_user == user_with_key and alarm.method == "webauthn"
    assert (alarm.data["stored"], alarm.data["presented"], alarm.data["name"]) == (41, 7, "YubiKey 5")
    [email] = [m for m in mail.outbox if "may have been copied" in m.subject]
    assert email.to == [user_with_key.email] and "YubiKey 5" in email.body


@pytest.mark.parametrize("presented", [0, 41])
def test_a_counter_that_stands_still_or_drops_to_zero_is_refused_too(signed_out, user_with_key, authenticator,
                                                                      presented):
    start_sign_in(signed_out, user_with_key)
    answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), sign_count=41))
    sign_out(signed_out)
    start_sign_in(signed_out, user_with_key)

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), sign_count=presented))

    assert response.status_code == 200 and COPIED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert events(flows.SIGN_COUNT_WENT_BACKWARDS).count() == 1


def test_the_counter_alarm_rings_for_a_passwordless_sign_in_too(signed_out, user_with_key, authenticator):
    start_sign_in(signed_out, user_with_key)
    answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), sign_count=10))
    sign_out(signed_out)

    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), sign_count=3))

    assert response.status_code == 400 and COPIED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert events(flows.SIGN_COUNT_WENT_BACKWARDS).get().data["presented"] == 3
    # The key's owner sees the refused attempt in their sign-in activity.
    start_sign_in(signed_out, user_with_key)
    assert answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), sign_count=11)).status_code == 302
    [newest, refused, *_] = recent_sign_in_activity(user_with_key)
    assert newest.succeeded and not refused.succeeded
    assert refused.method == "Passkeys and security keys" and refused.event_type == "signin.failed"


def test_a_synced_passkey_whose_counter_is_always_zero_keeps_working(reauthenticated_client, user, client):
    phone = SoftwareAuthenticator(backup_eligible=True, backed_up=True, keeps_counter=False)
    assert add_key(reauthenticated_client, phone, name="Phone").status_code == 302
    sign_out(reauthenticated_client)

    for _ in range(3):
        start_sign_in(client, user)
        assert answer_step_2(client, phone.get(step_2_options(client))).status_code == 302
        sign_out(client)
        assert sign_in_with_passkey(client, phone.get(sign_in_options(client))).status_code == 302
        assert signed_in_user(client) == user
        sign_out(client)

    key = key_of(user)
    assert key.sign_count == 0 and key.backed_up and key.last_used_at is not None
    assert not events(flows.SIGN_COUNT_WENT_BACKWARDS).exists()


# -- sign-in with the passkey alone ----------------------------------------------------

def test_a_passkey_signs_in_alone_to_the_next_page(signed_out, user_with_key, authenticator):
    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out)), next_url=MANAGE)

    assert response.status_code == 302 and response.url == MANAGE
    signed_in = signed_in_user(signed_out)
    assert signed_in == user_with_key and signed_in.is_verified()
    # Both factors at once: the security pages open without "Confirm it's you".
    assert signed_out.get(MANAGE).status_code == 200


def test_sign_in_options_let_any_passkey_of_this_site_answer(signed_out, user_with_key):
    options = sign_in_options(signed_out)

    assert options["allowCredentials"] == [] and options["rpId"] == "testserver"
    assert options["timeout"] == 300_000


def test_a_passkey_of_a_deactivated_account_does_not_sign_in(signed_out, user_with_key, authenticator):
    user_with_key.is_active = False
    user_with_key.save()

    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out)))

    assert response.status_code == 400 and NOT_REGISTERED in html(response)
    assert not signed_in_user(signed_out).is_authenticated


def test_a_user_handle_that_is_not_the_keys_is_refused(signed_out, user_with_key, authenticator):
    authenticator.credentials[0].user_handle = b"\x01" * 32

    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out)))

    assert response.status_code == 400 and NOT_REGISTERED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert events(flows.VERIFICATION_FAILED).get().data["detail"] == "user handle does not match the key's"


def test_a_half_done_password_sign_in_keeps_the_browser_on_step_2_even_for_a_passkey(
        client, user_with_key, authenticator, make_user):
    """Someone's password typed in this browser holds it at their step 2; the passkey's answer is not read."""
    other = make_user("other@example.test")
    add_fake_device(other)
    sign_out(client)
    options = sign_in_options(client)
    start_sign_in(client, other)

    response = sign_in_with_passkey(client, authenticator.get(options))

    assert response.status_code == 302 and response.url == VERIFY
    assert not signed_in_user(client).is_authenticated
    assert key_of(user_with_key).sign_count == 0


# -- without user verification the password finishes -----------------------------------

def test_without_user_verification_the_password_finishes_with_no_step_2(signed_out, user_with_key, authenticator):
    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), user_verified=False),
                                    next_url=MANAGE)

    assert response.status_code == 302 and response.url.startswith(LOGIN)
    page = signed_out.get(response.url)
    assert FINISH_WITH_PASSWORD in html(page) and f'value="{user_with_key.email}"' in html(page)
    assert "Sign in with a passkey" not in html(page)  # the key was used already
    assert not page.wsgi_request.user.is_authenticated
    response = signed_out.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD, "next": MANAGE})
    assert response.status_code == 302 and response.url == MANAGE
    signed_in = signed_in_user(signed_out)
    assert signed_in == user_with_key and signed_in.is_verified()
    assert events(audit.SIGN_IN_SUCCEEDED).latest("pk").method == "webauthn"


def test_without_user_verification_a_wrong_password_does_not_finish(signed_out, user_with_key, authenticator):
    sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), user_verified=False))

    response = signed_out.post(LOGIN, {"email": user_with_key.email, "password": "not the password"})

    assert response.status_code == 200 and "Incorrect email or password." in html(response)
    assert not signed_in_user(signed_out).is_authenticated


def test_without_user_verification_another_accounts_password_proves_nothing_for_it(
        signed_out, user_with_key, authenticator, make_user):
    other = make_user("other@example.test")
    add_fake_device(other)
    sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), user_verified=False))

    response = signed_out.post(LOGIN, {"email": other.email, "password": PASSWORD})

    # The other account gets its own step 2: the key proved nothing for it.
    assert response.status_code == 302 and response.url == VERIFY
    assert signed_out.get(VERIFY).context["method"].key == "fake"
    assert not signed_in_user(signed_out).is_authenticated
    # And the key's proof is spent: the key's owner now needs step 2 as well.
    sign_out(signed_out)
    assert signed_out.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD}).url == VERIFY


def test_without_user_verification_the_proof_expires_with_the_pending_sign_in(
        signed_out, user_with_key, authenticator, clock):
    sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), user_verified=False))
    clock.advance(mfa_settings.PENDING_SIGN_IN_TIMEOUT + 1)

    page = signed_out.get(LOGIN)
    response = signed_out.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD})

    assert FINISH_WITH_PASSWORD not in html(page) and "Sign in with a passkey" in html(page)
    assert response.status_code == 302 and response.url == VERIFY  # the ordinary two steps again
    assert not signed_in_user(signed_out).is_authenticated


def test_without_user_verification_a_key_removed_meanwhile_proves_nothing(
        signed_out, user_with_key, authenticator):
    sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), user_verified=False))
    add_fake_device(user_with_key)
    WebAuthnCredential.objects.filter(user=user_with_key).delete()

    response = signed_out.post(LOGIN, {"email": user_with_key.email, "password": PASSWORD})

    assert response.status_code == 302 and response.url == VERIFY
    assert not signed_in_user(signed_out).is_authenticated


# -- step-up ("Confirm it's you") ------------------------------------------------------

def test_step_up_takes_the_password_and_the_keys_answer(user_with_key, reauthenticated_client, authenticator):
    let_step_up_window_pass()
    gate = reauthenticated_client.get(MANAGE)
    assert gate.status_code == 302 and gate.url.startswith("/account/reauthenticate/")
    options = step_up_options(reauthenticated_client, next_url=MANAGE)

    response = step_up(reauthenticated_client, authenticator.get(options), next_url=MANAGE)

    assert response.status_code == 302 and response.url == MANAGE
    assert reauthenticated_client.get(MANAGE).status_code == 200
    assert events(audit.REAUTH_SUCCEEDED).latest("pk").method == "webauthn"
    assert key_of(user_with_key).sign_count == 1


def test_step_up_page_offers_the_key_first_with_its_button(user_with_key, reauthenticated_client):
    page = reauthenticated_client.get("/account/reauthenticate/")

    assert page.context["method"].key == "webauthn"
    assert ">Use your passkey or security key</button>" in html(page)
    assert 'name="code"' in html(page) and 'type="hidden" name="code"' in html(page)


def test_step_up_with_the_key_but_a_wrong_password_is_refused(user_with_key, reauthenticated_client, authenticator):
    let_step_up_window_pass()

    response = step_up(reauthenticated_client, authenticator.get(step_up_options(reauthenticated_client)),
                       password="wrong password")

    assert response.status_code == 200 and "Incorrect password." in html(response)
    assert reauthenticated_client.get(MANAGE).status_code == 302
    assert key_of(user_with_key).sign_count == 0


def test_step_up_with_another_accounts_key_is_refused(user_with_key, reauthenticated_client, make_user):
    mallorys_key = SoftwareAuthenticator()
    client_with_key(make_user("mallory@example.test"), mallorys_key)
    let_step_up_window_pass()

    response = step_up(reauthenticated_client, mallorys_key.get(step_up_options(reauthenticated_client)))

    assert response.status_code == 200 and NOT_REGISTERED in html(response)
    assert reauthenticated_client.get(MANAGE).status_code == 302
    failure = events(audit.REAUTH_FAILED).get()
    assert failure.method == "webauthn" and failure.data["error"] == "unknown_credential"


def test_step_up_with_the_key_without_a_password_asks_for_it(user_with_key, reauthenticated_client, authenticator):
    let_step_up_window_pass()
    answer = authenticator.get(step_up_options(reauthenticated_client))

    response = reauthenticated_client.post("/account/reauthenticate/", {"method": "webauthn", "code": answer})

    assert response.status_code == 200 and "This field is required." in html(response)
    assert reauthenticated_client.get(MANAGE).status_code == 302


def test_a_second_browser_of_the_same_account_cannot_use_the_first_ones_step_up(
        user_with_key, reauthenticated_client, authenticator):
    other_browser = Client()
    start_sign_in(other_browser, user_with_key)
    assert answer_step_2(other_browser, authenticator.get(step_2_options(other_browser))).status_code == 302
    let_step_up_window_pass()
    options = step_up_options(reauthenticated_client)

    response = step_up(other_browser, authenticator.get(options))

    assert response.status_code == 200
    assert "That passkey request has expired or was already used." in html(response)
    assert other_browser.get(MANAGE).status_code == 302


def test_a_passwordless_answer_without_the_user_handle_is_refused(signed_out, user_with_key, authenticator):
    """With no allowCredentials the handle names the account (WebAuthn §7.2): it must be there."""
    response = sign_in_with_passkey(signed_out, authenticator.get(sign_in_options(signed_out), with_user_handle=False))

    assert response.status_code == 400 and NOT_REGISTERED in html(response)
    assert not signed_in_user(signed_out).is_authenticated
    assert key_of(user_with_key).sign_count == 0


def test_at_step_2_a_security_key_may_leave_the_user_handle_out(signed_out, user_with_key, authenticator):
    start_sign_in(signed_out, user_with_key)

    response = answer_step_2(signed_out, authenticator.get(step_2_options(signed_out), with_user_handle=False))

    assert response.status_code == 302 and signed_in_user(signed_out).is_verified()
