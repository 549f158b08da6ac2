"""Text Messages at sign-in step 2 and at step-up re-authentication, through the real pages."""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from mfa.sms.models import OutboxMessage
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, let_step_up_window_pass
from tests.mfa.sms.conftest import NUMBER, enrol_sms, last_code, start_sign_in, texts_to

pytestmark = pytest.mark.django_db(transaction=True)
VERIFY = reverse("accounts:login_verify")


def page(response) -> str:
    return response.content.decode()


def test_step_two_texts_a_code_and_shows_masked_number(client, sms_user):
    before = texts_to(NUMBER)
    start_sign_in(client, sms_user)

    response = client.get(VERIFY)

    assert response.status_code == 200
    assert "We sent a code to +1 •••-•••-2671." in page(response)
    assert "Resend code" in page(response)
    assert NUMBER not in page(response) and "415-555-2671" not in page(response)
    assert texts_to(NUMBER) == before + 1


def test_refreshing_step_two_sends_no_second_text(client, sms_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    after_first = texts_to(NUMBER)

    for _ in range(3):
        response = client.get(VERIFY)

    assert texts_to(NUMBER) == after_first
    assert "Enter the code we texted to +1 •••-•••-2671." in page(response)


def test_sign_in_with_texted_code(client, sms_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)

    response = client.post(VERIFY, {"code": last_code()})

    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    assert client.get(reverse("accounts:profile")).status_code == 200
    event = AuditEvent.objects.filter(event_type="signin.succeeded", actor=sms_user).first()
    assert event.method == "sms"


def test_texted_code_works_once(client, sms_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    code = last_code()
    assert client.post(VERIFY, {"code": code}).status_code == 302
    client.post(reverse("accounts:logout"))
    start_sign_in(client, sms_user)

    response = client.post(VERIFY, {"code": code, "method": "sms"})

    assert response.status_code == 200
    assert "No code was sent for this step" in page(response)


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5", "😀😀😀😀😀😀", "9" * 100])
def test_bad_code_input_gets_a_form_error(client, sms_user, typed):
    start_sign_in(client, sms_user)
    client.get(VERIFY)

    response = client.post(VERIFY, {"code": typed})

    assert response.status_code == 200
    assert 'class="field-error"' in page(response)
    assert client.post(VERIFY, {"code": last_code()}).status_code == 302  # no try was used up


def test_resend_waits_for_cooldown_with_countdown(client, sms_user, clock, next_codes):
    next_codes("111111", "222222")
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    sent = texts_to(NUMBER)

    early = client.post(VERIFY, {"resend": "1", "method": "sms"})

    assert "Please wait 30 seconds before requesting another code." in page(early)
    assert 'data-sms-cooldown="30"' in page(early)
    assert '<script src="/static/mfa/sms/countdown.js" defer></script>' in page(early)
    assert texts_to(NUMBER) == sent
    clock.advance(30)
    later = client.post(VERIFY, {"resend": "1", "method": "sms"})
    assert "We sent a new code to +1 •••-•••-2671." in page(later)
    assert texts_to(NUMBER) == sent + 1
    assert "Incorrect code" in page(client.post(VERIFY, {"code": "111111"}))  # replaced
    assert client.post(VERIFY, {"code": "222222"}).status_code == 302


def test_five_wrong_codes_kill_the_code_until_a_new_one_is_requested(client, sms_user, clock, next_codes):
    next_codes("111111", "222222")
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    for _ in range(4):
        assert "Incorrect code" in page(client.post(VERIFY, {"code": "999999"}))
    fifth = client.post(VERIFY, {"code": "999999"})
    sent = texts_to(NUMBER)

    assert "Too many wrong codes" in page(fifth)
    assert "Too many wrong codes" in page(client.post(VERIFY, {"code": "111111"}))
    assert "Too many wrong codes" in page(client.get(VERIFY))  # a refresh sends nothing
    assert texts_to(NUMBER) == sent
    clock.advance(30)
    client.post(VERIFY, {"resend": "1", "method": "sms"})
    assert client.post(VERIFY, {"code": "222222"}).status_code == 302
    failures = AuditEvent.objects.filter(event_type="signin.second_factor_failed", target_user=sms_user)
    assert failures.count() == 6 and {e.method for e in failures} == {"sms"}


def test_expired_code_is_refused_and_a_new_one_texted(client, sms_user, clock, next_codes):
    next_codes("111111", "222222")
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    sent = texts_to(NUMBER)
    clock.advance(5 * 60 + 1)

    response = client.post(VERIFY, {"code": "111111"})

    assert "This code has expired" in page(response)
    assert "We sent a code to +1 •••-•••-2671." in page(response)
    assert texts_to(NUMBER) == sent + 1
    client.get(VERIFY)  # the new code is valid: a refresh sends nothing more
    assert texts_to(NUMBER) == sent + 1
    assert client.post(VERIFY, {"code": "222222"}).status_code == 302


def test_code_from_one_sign_in_cannot_complete_another(sms_user, next_codes):
    next_codes("111111", "222222")
    first, second = Client(), Client()
    start_sign_in(first, sms_user)
    first.get(VERIFY)  # texts 111111 for the first attempt
    start_sign_in(second, sms_user)
    second.get(VERIFY)  # texts 222222 for the second

    response = second.post(VERIFY, {"code": "111111"})

    assert response.status_code == 200 and "Incorrect code" in page(response)
    assert first.post(VERIFY, {"code": "111111"}).status_code == 302


def test_sign_in_code_cannot_complete_reauthentication(sms_user, next_codes):
    next_codes("111111", "222222", "333333")
    pending, signed_in = Client(), Client()
    start_sign_in(pending, sms_user)
    pending.get(VERIFY)  # 111111 is waiting for this sign-in
    start_sign_in(signed_in, sms_user)
    signed_in.get(VERIFY)
    assert signed_in.post(VERIFY, {"code": "222222"}).status_code == 302

    signed_in.post(reverse("accounts:reauthenticate"), {"method": "sms", "resend": "1"})  # texts 333333
    response = signed_in.post(reverse("accounts:reauthenticate"), {"password": PASSWORD, "code": "111111"})

    assert response.status_code == 200 and "Incorrect code" in page(response)
    assert signed_in.post(reverse("accounts:reauthenticate"),
                          {"password": PASSWORD, "code": "333333"}).status_code == 302


def test_code_cannot_complete_another_users_sign_in(sms_user, make_user, next_codes):
    other = make_user("other@example.test")
    enrol_sms(other, "+447400123456")
    next_codes("111111", "222222")
    mine, theirs = Client(), Client()
    start_sign_in(mine, sms_user)
    mine.get(VERIFY)
    start_sign_in(theirs, other)
    theirs.get(VERIFY)

    assert "Incorrect code" in page(theirs.post(VERIFY, {"code": "111111"}))
    assert "Incorrect code" in page(mine.post(VERIFY, {"code": "222222"}))


def test_text_messages_not_preselected_when_another_method_is_active(client, sms_user):
    add_fake_device(sms_user)
    sent = texts_to(NUMBER)
    start_sign_in(client, sms_user)

    response = client.get(VERIFY)

    assert '<p class="method-name">Fake code</p>' in page(response)
    assert texts_to(NUMBER) == sent
    assert "Text me a code" in page(response)
    chosen = client.get(VERIFY + "?method=sms")
    assert "We sent a code to +1 •••-•••-2671." in page(chosen)
    assert texts_to(NUMBER) == sent + 1


def test_text_messages_preselected_when_the_user_chose_it(client, sms_user):
    add_fake_device(sms_user)
    sms_user.preferred_mfa_method = "sms"
    sms_user.save(update_fields=["preferred_mfa_method"])
    start_sign_in(client, sms_user)

    assert '<p class="method-name">Text Messages</p>' in page(client.get(VERIFY))


def test_limit_reached_still_lets_user_sign_in_with_another_method(client, sms_user, settings):
    add_fake_device(sms_user)
    settings.MFA_SMS_USER_LIMIT = (1, 15 * 60)  # the set-up text already used it
    start_sign_in(client, sms_user)
    sent = texts_to(NUMBER)

    response = client.get(VERIFY + "?method=sms")

    assert "You have requested too many codes" in page(response)
    assert "use another method" in page(response)
    assert texts_to(NUMBER) == sent
    assert f'href="{VERIFY}?method=fake"' in page(response)
    assert client.post(VERIFY, {"code": FAKE_CODE, "method": "fake"}).status_code == 302


def test_reauthenticate_with_texted_code(client, sms_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    client.post(VERIFY, {"code": last_code()})
    let_step_up_window_pass()  # the sign-in's own window
    manage = reverse("mfa:sms:manage")

    redirect = client.get(manage)
    assert redirect.status_code == 302 and redirect.url.startswith(reverse("accounts:reauthenticate"))
    sent_before = OutboxMessage.objects.count()
    form = client.get(redirect.url)
    assert "Text me a code" in page(form) and OutboxMessage.objects.count() == sent_before  # a GET texts nothing
    assert 'name="next" value="/mfa/sms/"' in page(form)  # kept on "Text me a code" too
    form = client.post(reverse("accounts:reauthenticate"), {"method": "sms", "resend": "1", "next": manage})
    assert "We sent a new code to +1 •••-•••-2671." in page(form)
    response = client.post(reverse("accounts:reauthenticate"),
                           {"password": PASSWORD, "code": last_code(), "next": manage})

    assert response.status_code == 302 and response.url == manage
    assert client.get(manage).status_code == 200
    assert AuditEvent.objects.filter(event_type="reauth.succeeded", method="sms").exists()


def test_reauthentication_code_works_for_one_step_up_only(client, sms_user, clock):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    client.post(VERIFY, {"code": last_code()})
    client.post(reverse("accounts:reauthenticate"), {"method": "sms", "resend": "1"})
    code = last_code()
    assert client.post(reverse("accounts:reauthenticate"), {"password": PASSWORD, "code": code}).status_code == 302
    clock.advance(11 * 60)  # the step-up window closed

    response = client.post(reverse("accounts:reauthenticate"), {"password": PASSWORD, "code": code})

    assert response.status_code == 200
    assert "No code was sent for this step" in page(response)


def test_limit_reached_user_signs_in_with_a_backup_code(client, sms_user, settings):
    from mfa.backup_codes import flows as backup_flows
    from tests.mfa.sms.conftest import flow_request

    request = flow_request(sms_user)
    backup_flows.generate_codes(request, user=sms_user)
    backup_code = backup_flows.fresh_codes(request, sms_user).rows[0].code
    backup_flows.confirm_saved(request, user=sms_user)
    settings.MFA_SMS_USER_LIMIT = (1, 15 * 60)  # the set-up text already used it
    start_sign_in(client, sms_user)

    response = client.get(VERIFY)

    assert '<p class="method-name">Text Messages</p>' in page(response)
    assert "You have requested too many codes" in page(response)
    assert "Use a backup code" in page(response)
    assert client.post(VERIFY, {"code": backup_code, "method": "backup_codes"}).status_code == 302


def test_resend_keeps_the_remember_this_browser_box_as_ticked(client, sms_user, clock):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    clock.advance(31)

    ticked = client.post(VERIFY, {"resend": "1", "method": "sms", "remember_browser": "on"})
    clock.advance(31)
    unticked = client.post(VERIFY, {"resend": "1", "method": "sms"})

    assert 'name="remember_browser" id="id_remember_browser" checked' in page(ticked)
    assert 'name="remember_browser" id="id_remember_browser" checked' not in page(unticked)


def test_too_many_wrong_codes_is_said_once_under_the_code(client, sms_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)

    for _ in range(5):
        response = client.post(VERIFY, {"code": "000000"})

    dead = "Too many wrong codes: this code no longer works. Press “Resend code” to get a new one."
    assert page(response).count(dead) == 1
    assert f'<p class="field-error" role="alert">{dead}</p>' in page(response)
    assert page(client.get(VERIFY)).count(dead) == 1  # on a later visit the text's own notice says it


def test_refused_code_at_step_up_is_said_once(client, sms_user):
    start_sign_in(client, sms_user)
    client.get(VERIFY)
    assert client.post(VERIFY, {"code": last_code()}).status_code == 302
    let_step_up_window_pass()
    client.post(reverse("accounts:reauthenticate"), {"method": "sms", "resend": "1"})

    for _ in range(5):
        response = client.post(reverse("accounts:reauthenticate"), {"password": PASSWORD, "code": "000000"})

    assert page(response).count("Too many wrong codes: this code no longer works.") == 1
