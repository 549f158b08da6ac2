"""The Text Messages pages (Add/Edit): set up, change number, disable, all behind step-up."""
import importlib

import pytest
from django.core import mail
from django.test import Client
from django.urls import clear_url_caches, reverse

from accounts.models import AuditEvent
from mfa.backup_codes import flows as backup_flows
from mfa.registry import get_method
from mfa.sms import flows
from mfa.sms.app_settings import app_settings
from mfa.sms.delivery import SEND_FAILED
from mfa.sms.models import OutboxMessage, SMSChallenge, SMSDevice
from tests.conftest import PASSWORD, let_step_up_window_pass, reauthenticate, sign_in
from tests.mfa.sms.conftest import NUMBER, OTHER_NUMBER, flow_request, last_code, start_sign_in, texts_to

pytestmark = pytest.mark.django_db(transaction=True)
MANAGE = reverse("mfa:sms:manage")
VERIFY = reverse("mfa:sms:verify")


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def sudo_client(client, user):
    """Signed in (no two-factor yet) and re-authenticated: may open the Add/Edit pages."""
    assert sign_in(client, user, code=None).status_code == 302
    assert reauthenticate(client, user).status_code == 302
    return client


@pytest.fixture
def sms_sudo_client(client, sms_user):
    """Signed in with a texted code and re-authenticated with another one."""
    start_sign_in(client, sms_user)
    client.get(reverse("accounts:login_verify"))
    assert client.post(reverse("accounts:login_verify"), {"code": last_code()}).status_code == 302
    client.post(reverse("accounts:reauthenticate"), {"method": "sms", "resend": "1"})
    assert client.post(reverse("accounts:reauthenticate"), {"password": PASSWORD, "code": last_code()}).status_code == 302
    mail.outbox.clear()
    return client


def enrol_through_pages(client, number: str = "+1 415 555 2671"):
    response = client.post(MANAGE, {"number": number})
    assert response.status_code == 302 and response.url == VERIFY
    return client.post(VERIFY, {"code": last_code()})


# -- set-up --------------------------------------------------------------------

def test_manage_page_warns_about_sim_swap_and_recommends_google_authenticator(sudo_client):
    response = sudo_client.get(MANAGE)

    text = page(response)
    assert response.status_code == 200
    assert "SIM swap" in text and "intercepted" in text
    assert f'We recommend <a href="{reverse("mfa:totp:manage")}">Google Authenticator</a>' in text
    assert 'type="tel"' in text and 'autocomplete="tel"' in text


def test_set_up_texts_code_then_activates_on_the_code(sudo_client, user):
    response = sudo_client.post(MANAGE, {"number": "+1 (415) 555-2671"})

    assert response.url == VERIFY
    assert not SMSDevice.objects.filter(user=user).exists()  # not active before the code
    verify_page = page(sudo_client.get(VERIFY))
    assert "We texted a 6-digit code to +1 415-555-2671." in verify_page
    assert 'autocomplete="one-time-code"' in verify_page and 'inputmode="numeric"' in verify_page
    done = sudo_client.post(VERIFY, {"code": last_code(NUMBER)})

    # The first method: set-up ends on the new backup codes (tests/mfa/backup_codes/test_first_setup.py).
    assert done.status_code == 302 and done.url == reverse("mfa:backup_codes:new")
    device = SMSDevice.objects.get(user=user)
    assert device.number == NUMBER and device.confirmed
    assert "Text Messages is on. We will text you a code when you sign in." in page(sudo_client.get(done.url))
    assert "+1 •••-•••-2671" in page(sudo_client.get(reverse("accounts:profile")))
    assert AuditEvent.objects.filter(event_type=flows.ENABLED, target_user=user).exists()
    [email] = [email for email in mail.outbox if "Text Messages" in email.subject]
    assert email.subject == "Text Messages was turned on for your CallTrackingMetrics account"
    assert "+1 •••-•••-2671" in email.body and NUMBER not in email.body


def test_set_up_shows_active_number_formatted_on_manage_page(sudo_client):
    enrol_through_pages(sudo_client, "+44 7400 123456")

    text = page(sudo_client.get(MANAGE))

    assert "Sign-in codes are texted to +44 7400 123456." in text
    assert "Change number" in text and "Disable" in text


@pytest.mark.parametrize(("typed", "error"), [
    ("hello there", "Use only digits, spaces and + ( ) - in the phone number."),
    ("4" * 40, "That is too long to be a phone number."),
    ("📱📱📱", "Use only digits, spaces and + ( ) - in the phone number."),
    ("+1 650 253 0000 ext. 123", "Enter a mobile number without an extension."),
    ("+44 20 7946 0000", "This is not a mobile number. Enter a number that can receive text messages."),
    ("415 555 267", "This is not a valid phone number in United States. Check it, or choose its country, "
                    "or start with + and the country code."),
    ("+1 415 555 267", "This is not a valid phone number. Check it and try again."),
    ("", "Enter your mobile number."),
])
def test_bad_number_gets_form_error_and_nothing_is_saved(sudo_client, user, typed, error):
    response = sudo_client.post(MANAGE, {"number": typed})

    assert response.status_code == 200
    assert error in page(response)
    assert not SMSDevice.objects.filter(user=user).exists()
    assert not SMSChallenge.objects.filter(user=user).exists()
    assert OutboxMessage.objects.count() == 0


def test_number_outside_allowed_countries_is_refused(sudo_client, user, settings):
    settings.MFA_SMS_ALLOWED_COUNTRIES = ["US", "CA"]

    response = sudo_client.post(MANAGE, {"number": "+33 6 12 34 56 78"})

    assert "Text messages cannot be sent to numbers in this country." in page(response)
    assert OutboxMessage.objects.count() == 0


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６", "12345x", "0" * 80])
def test_bad_code_at_set_up_gets_form_error_and_no_method(sudo_client, user, typed):
    sudo_client.post(MANAGE, {"number": NUMBER})

    response = sudo_client.post(VERIFY, {"code": typed})

    assert response.status_code == 200
    assert "Enter the 6-digit code from the text message." in page(response)
    assert not SMSDevice.objects.filter(user=user).exists()
    assert SMSChallenge.objects.get(user=user).failures == 0


def test_wrong_code_at_set_up_counts_and_audits(sudo_client, user, next_codes):
    next_codes("111111")
    sudo_client.post(MANAGE, {"number": NUMBER})

    response = sudo_client.post(VERIFY, {"code": "222222"})

    assert "Incorrect code. You have 4 more tries with this code." in page(response)
    assert not SMSDevice.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(event_type=flows.VERIFY_FAILED)
    assert event.data == {"purpose": "enrol", "error": "incorrect_code", "tries_left": 4}


def test_twilio_refusal_at_set_up_shows_on_the_number(sudo_client, user, fake_twilio):
    fake_twilio.fail_next(21614)

    response = sudo_client.post(MANAGE, {"number": NUMBER}, follow=True)

    assert response.redirect_chain == [(VERIFY, 302)]
    text = page(response)
    assert "We could not send the text: This number cannot receive text messages (it may be a landline)" in text
    assert "We texted" not in text
    assert not SMSDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.get(event_type=SEND_FAILED).data["twilio_code"] == 21614


def test_resend_on_set_up_page_respects_cooldown(sudo_client, clock, next_codes):
    next_codes("111111", "222222")
    sudo_client.post(MANAGE, {"number": NUMBER})

    early = sudo_client.post(VERIFY, {"resend": "1"}, follow=True)
    assert "Please wait 30 seconds before requesting another code." in page(early)
    assert 'data-sms-cooldown="30"' in page(early)
    clock.advance(30)
    later = sudo_client.post(VERIFY, {"resend": "1"}, follow=True)

    assert "We sent a new code." in page(later)
    assert texts_to(NUMBER) == 2
    assert sudo_client.post(VERIFY, {"code": "222222"}).status_code == 302


def test_cancel_set_up_leaves_nothing_active(sudo_client, user):
    sudo_client.post(MANAGE, {"number": NUMBER})

    sudo_client.post(reverse("mfa:sms:cancel"))

    assert sudo_client.get(VERIFY).url == MANAGE
    assert not SMSDevice.objects.filter(user=user).exists()


def test_code_of_a_cancelled_set_up_no_longer_works(sudo_client, user, next_codes):
    next_codes("111111", "222222")
    sudo_client.post(MANAGE, {"number": NUMBER})
    sudo_client.post(reverse("mfa:sms:cancel"))
    sudo_client.post(MANAGE, {"number": OTHER_NUMBER})

    response = sudo_client.post(VERIFY, {"code": "111111"})

    assert "Incorrect code" in page(response)
    assert not SMSDevice.objects.filter(user=user).exists()


# -- number change -----------------------------------------------------------------

def test_change_number_needs_current_then_new_number(sms_sudo_client, sms_user, next_codes):
    next_codes("111111", "222222")
    response = sms_sudo_client.post(reverse("mfa:sms:change_start"))
    assert response.url == VERIFY
    assert "We texted a 6-digit code to +1 •••-•••-2671." in page(sms_sudo_client.get(VERIFY))
    assert OutboxMessage.objects.filter(to=NUMBER, body__contains="111111").exists()

    confirmed = sms_sudo_client.post(VERIFY, {"code": "111111"})
    assert confirmed.url == reverse("mfa:sms:change_number")
    assert sms_sudo_client.post(confirmed.url, {"number": "+44 7400 123456"}).url == VERIFY
    assert OutboxMessage.objects.filter(to=OTHER_NUMBER, body__contains="222222").exists()
    assert SMSDevice.objects.get(user=sms_user).number == NUMBER  # not yet
    done = sms_sudo_client.post(VERIFY, {"code": "222222"})

    assert done.url == reverse("accounts:profile")
    assert SMSDevice.objects.get(user=sms_user).number == OTHER_NUMBER
    event = AuditEvent.objects.get(event_type=flows.NUMBER_CHANGED)
    assert event.data == {"from": "+1 •••-•••-2671", "to": "+44 •••• ••3456"}
    [email] = mail.outbox
    assert "changed" in email.subject
    assert "+1 •••-•••-2671" in email.body and "+44 •••• ••3456" in email.body


def test_new_number_page_is_closed_until_current_number_is_confirmed(sms_sudo_client, sms_user):
    assert sms_sudo_client.get(reverse("mfa:sms:change_number")).url == MANAGE
    sms_sudo_client.post(reverse("mfa:sms:change_start"))

    skipped = sms_sudo_client.post(reverse("mfa:sms:change_number"), {"number": OTHER_NUMBER})

    assert skipped.url == MANAGE
    assert texts_to(OTHER_NUMBER) == 0
    assert SMSDevice.objects.get(user=sms_user).number == NUMBER


def test_wrong_code_for_current_number_does_not_open_the_change(sms_sudo_client, next_codes):
    next_codes("111111")
    sms_sudo_client.post(reverse("mfa:sms:change_start"))

    response = sms_sudo_client.post(VERIFY, {"code": "999999"})

    assert "Incorrect code" in page(response)
    assert sms_sudo_client.get(reverse("mfa:sms:change_number")).url == MANAGE


def test_new_number_equal_to_current_is_refused(sms_sudo_client):
    sms_sudo_client.post(reverse("mfa:sms:change_start"))
    sms_sudo_client.post(VERIFY, {"code": last_code()})

    response = sms_sudo_client.post(reverse("mfa:sms:change_number"), {"number": "+1 415 555 2671"})

    assert "This is already your number. Enter the new one." in page(response)


def test_bad_new_number_gets_form_error(sms_sudo_client, sms_user):
    sms_sudo_client.post(reverse("mfa:sms:change_start"))
    sms_sudo_client.post(VERIFY, {"code": last_code()})

    response = sms_sudo_client.post(reverse("mfa:sms:change_number"), {"number": "+1 650 253 0000 x12"})

    assert "Enter a mobile number without an extension." in page(response)
    assert SMSDevice.objects.get(user=sms_user).number == NUMBER


def test_confirmed_current_number_expires(sms_user, clock):
    request = flow_request(sms_user)
    flows.start_number_change(request, user=sms_user)
    assert flows.confirm_setup_code(request, user=sms_user, code=last_code()).next_step == "new_number"
    assert flows.new_number_allowed(request)

    clock.advance(app_settings.CHANGE_NUMBER_WINDOW)

    assert not flows.new_number_allowed(request)
    assert flows.submit_new_number(request, user=sms_user, number=OTHER_NUMBER).error == "not_allowed"


def test_codes_to_old_number_stop_working_after_change(sms_user, next_codes):
    next_codes("111111", "222222", "333333")
    pending = Client()
    start_sign_in(pending, sms_user)
    pending.get(reverse("accounts:login_verify"))  # 111111 to the old number
    request = flow_request(sms_user)
    flows.start_number_change(request, user=sms_user)
    flows.confirm_setup_code(request, user=sms_user, code="222222")
    flows.submit_new_number(request, user=sms_user, number=OTHER_NUMBER)
    assert flows.confirm_setup_code(request, user=sms_user, code="333333").ok

    response = pending.post(reverse("accounts:login_verify"), {"code": "111111"})

    assert response.status_code == 200 and "No code was sent for this step" in page(response)


# -- disable -----------------------------------------------------------------------

def test_disable_removes_number_codes_and_backup_codes(sms_sudo_client, sms_user):
    sms_user.preferred_mfa_method = "sms"
    sms_user.save(update_fields=["preferred_mfa_method"])
    backup_request = flow_request(sms_user)
    backup_flows.generate_codes(backup_request, user=sms_user)
    backup_flows.confirm_saved(backup_request, user=sms_user)
    assert get_method("backup_codes").is_active_for(sms_user)
    mail.outbox.clear()
    assert "Disable Text Messages" in page(sms_sudo_client.get(reverse("mfa:sms:disable")))

    response = sms_sudo_client.post(reverse("mfa:sms:disable"))

    assert response.url == reverse("accounts:profile")
    assert not SMSDevice.objects.filter(user=sms_user).exists()
    assert not SMSChallenge.objects.filter(user=sms_user).exists()
    assert not get_method("backup_codes").is_active_for(sms_user)
    sms_user.refresh_from_db()
    assert sms_user.preferred_mfa_method == ""
    assert AuditEvent.objects.get(event_type=flows.DISABLED).data == {"to": "+1 •••-•••-2671"}
    assert AuditEvent.objects.filter(event_type="mfa.fallback_methods_destroyed").exists()
    assert [m.subject for m in mail.outbox] == ["Text Messages was turned off for your CallTrackingMetrics account"]
    assert "Text Messages was disabled." in page(sms_sudo_client.get(response.url))


def test_disable_is_refused_when_policy_says_so(sms_sudo_client, sms_user, monkeypatch):
    monkeypatch.setattr("mfa.policy.two_factor_required_for", lambda user: True)

    shown = sms_sudo_client.get(reverse("mfa:sms:disable"))
    response = sms_sudo_client.post(reverse("mfa:sms:disable"))

    assert "Your agency requires two-factor authentication" in page(shown)
    assert response.status_code == 200
    assert "Your agency requires two-factor authentication" in page(response)
    assert SMSDevice.objects.filter(user=sms_user).exists()
    assert not AuditEvent.objects.filter(event_type=flows.DISABLED).exists()
    assert mail.outbox == []


# -- protection and profile ----------------------------------------------------------

@pytest.mark.parametrize("name", ["manage", "verify", "change_start", "change_number", "cancel", "disable"])
def test_every_page_needs_recent_reauthentication(client, user, name):
    assert sign_in(client, user, code=None).status_code == 302
    let_step_up_window_pass()  # the sign-in's own window
    url = reverse(f"mfa:sms:{name}")

    for response in (client.get(url), client.post(url, {"number": NUMBER, "code": "123456"})):
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:reauthenticate"))
    assert OutboxMessage.objects.count() == 0


def test_profile_lists_text_messages_and_texts_sent_masked(sms_sudo_client, sms_user):
    text = page(sms_sudo_client.get(reverse("accounts:profile")))

    row = text[text.index('data-method="sms"'):]
    row = row[: row.index("</tr>")]
    assert "Text Messages" in row and "+1 •••-•••-2671" in row and reverse("mfa:sms:manage") in row
    section = text[text.index('id="texts-sent"'):]
    assert "Texts sent" in section
    assert section.count("+1 •••-•••-2671") >= 3  # set-up, sign-in and re-authentication
    assert "Sign-in" in section and "Re-authentication" in section and "Set-up" in section
    assert NUMBER not in text and "415-555-2671" not in text


# -- dev outbox --------------------------------------------------------------------------

@pytest.fixture
def debug_urls(settings):
    """Load the URLconf as DEBUG would, then restore it."""
    import ctm_auth.urls
    import mfa.sms.dev_urls

    settings.DEBUG = True
    importlib.reload(mfa.sms.dev_urls)
    importlib.reload(ctm_auth.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(mfa.sms.dev_urls)
    importlib.reload(ctm_auth.urls)
    clear_url_caches()


def test_dev_outbox_lists_texts_under_debug_even_mid_sign_in(client, sms_user, debug_urls):
    start_sign_in(client, sms_user)
    client.get(reverse("accounts:login_verify"))

    response = client.get("/dev/sms-outbox/")

    assert response.status_code == 200
    assert "Dev SMS outbox" in page(response)
    assert f"Your CallTrackingMetrics verification code is {last_code()}." in page(response)


def test_dev_outbox_does_not_exist_without_debug(client, sms_user):
    assert client.get("/dev/sms-outbox/").status_code == 404


# -- national numbers and the country beside them ----------------------------

def agency_in(country: str, owner, *, name: str = "Agency"):
    """An agency of ``owner`` working in ``country`` (no flow sets the country yet: its own field)."""
    from agencies.flows import create_agency
    from tests.conftest import ensure_plans

    ensure_plans()
    agency = create_agency(name=name, plan_code="growth", owner=owner)
    agency.country = country
    agency.save(update_fields=["country"])
    return agency


def test_us_agency_member_sets_up_a_national_number(sudo_client, user):
    agency_in("US", user)

    form = page(sudo_client.get(MANAGE))
    assert '<option value="US" selected data-example="(201) 555-0123">United States (+1)</option>' in form
    assert 'placeholder="(201) 555-0123"' in form
    response = sudo_client.post(MANAGE, {"country": "US", "number": "(415) 555-2671"})

    assert response.status_code == 302 and response.url == VERIFY
    assert "We texted a 6-digit code to +1 415-555-2671." in page(sudo_client.get(VERIFY))
    sudo_client.post(VERIFY, {"code": last_code(NUMBER)})
    assert SMSDevice.objects.get(user=user).number == NUMBER


def test_gb_agency_member_sets_up_a_national_number(sudo_client, user):
    agency_in("GB", user)

    form = page(sudo_client.get(MANAGE))
    assert '<option value="GB" selected data-example="07400 123456">United Kingdom (+44)</option>' in form
    assert 'placeholder="07400 123456"' in form
    response = sudo_client.post(MANAGE, {"country": "GB", "number": "07400 123456"})

    assert response.url == VERIFY
    assert "We texted a 6-digit code to +44 7400 123456." in page(sudo_client.get(VERIFY))
    assert texts_to(OTHER_NUMBER) == 1


def test_number_with_plus_wins_over_the_selected_country(sudo_client, user):
    agency_in("US", user)

    response = sudo_client.post(MANAGE, {"country": "US", "number": "+44 7400 123456"})

    assert response.url == VERIFY
    assert "We texted a 6-digit code to +44 7400 123456." in page(sudo_client.get(VERIFY))


def test_national_number_of_another_country_is_refused_clearly_and_keeps_the_choice(sudo_client, user):
    agency_in("US", user)

    response = sudo_client.post(MANAGE, {"country": "US", "number": "07400 123456"})

    text = page(response)
    assert response.status_code == 200
    assert ("This is not a valid phone number in United States. Check it, or choose its country, "
            "or start with + and the country code.") in text
    assert 'value="07400 123456"' in text  # what was typed stays, to be corrected
    assert OutboxMessage.objects.count() == 0 and not SMSChallenge.objects.filter(user=user).exists()


def test_number_field_is_described_by_its_help_and_its_error(sudo_client):
    text = page(sudo_client.get(MANAGE))
    assert 'aria-describedby="id_number_helptext"' in text
    assert 'id="id_number_helptext"' in text

    refused = page(sudo_client.post(MANAGE, {"country": "US", "number": "415 555 267"}))

    assert 'aria-describedby="id_number_helptext id_number_error"' in refused
    assert 'id="id_number_helptext"' in refused and 'id="id_number_error"' in refused
    assert 'aria-invalid="true"' in refused
    assert refused.count("This is not a valid phone number in United States.") == 1  # said once


def test_country_defaults_to_the_browsers_region_without_an_agency(client, user):
    assert sign_in(client, user, code=None).status_code == 302
    assert reauthenticate(client, user).status_code == 302

    text = page(client.get(MANAGE, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8"))

    assert '<option value="GB" selected data-example="07400 123456">' in text


def test_bad_new_number_in_a_change_leaves_the_current_number(sms_sudo_client, sms_user, next_codes):
    next_codes("111111", "222222")
    sms_sudo_client.post(reverse("mfa:sms:change_start"))
    confirmed = sms_sudo_client.post(VERIFY, {"code": "111111"})

    response = sms_sudo_client.post(confirmed.url, {"country": "US", "number": "020 7946 0000"})

    assert response.status_code == 200
    assert "This is not a valid phone number in United States." in page(response)
    assert SMSDevice.objects.get(user=sms_user).number == NUMBER
    assert sms_sudo_client.post(confirmed.url, {"country": "GB", "number": "020 7946 0000"}).status_code == 200
    assert SMSDevice.objects.get(user=sms_user).number == NUMBER
    assert texts_to(OTHER_NUMBER) == 0
