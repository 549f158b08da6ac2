"""Text Messages in a real browser: set it up with the outbox gateway, sign out, sign in with a texted code."""
import re

from playwright.sync_api import expect

from mfa.sms.models import OutboxMessage
from tests.browser.conftest import sign_in_page
from tests.mfa.sms.conftest import NUMBER, last_code


def test_enrol_text_messages_then_sign_in_with_texted_code(page, user):
    csp_errors = []
    page.on("console", lambda message: csp_errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in_page(page, user.email, code=None)
    assert page.url.endswith("/account/profile/")

    page.locator('tr[data-method="sms"]').get_by_role("link", name="Add/Edit").click()
    expect(page).to_have_url(re.compile(r"/mfa/sms/$"))  # the sign-in just now counts as the step-up
    expect(page.locator("#sms-risk-notice")).to_contain_text("SIM swap")
    page.get_by_label("Mobile number").fill("+1 415 555 2671")
    page.get_by_role("button", name="Text me a code").click()

    expect(page).to_have_url(re.compile(r"/mfa/sms/verify/$"))
    expect(page.locator("#sms-verify")).to_contain_text("We texted a 6-digit code to +1 415-555-2671.")
    expect(page.get_by_role("button", name="Resend code")).to_be_disabled()  # the countdown script runs
    page.get_by_label("Code", exact=True).fill(last_code(NUMBER))
    page.get_by_role("button", name="Verify").click()

    # The first method: set-up ends on the new backup codes; skipping them leaves a warning on the Profile.
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    page.get_by_role("link", name="Skip for now").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    expect(page.locator('tr[data-method="backup_codes"]')).to_contain_text("No backup codes: you could be locked out")
    expect(page.locator('tr[data-method="sms"]')).to_contain_text("+1 •••-•••-2671")
    expect(page.locator('tr[data-method="sms"] .in-use-dot')).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    texts_before = OutboxMessage.objects.filter(to=NUMBER).count()
    sign_in_page(page, user.email, code=None)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    expect(page.locator("#sms-challenge")).to_contain_text("We sent a code to +1 •••-•••-2671.")
    countdown = page.locator("[data-sms-countdown-text]")
    expect(countdown).to_contain_text(re.compile(r"You can ask for a new code in \d+ s\."))
    assert OutboxMessage.objects.filter(to=NUMBER).count() == texts_before + 1
    page.reload()  # a refresh must not send another text
    assert OutboxMessage.objects.filter(to=NUMBER).count() == texts_before + 1
    code = page.get_by_label("Code", exact=True)
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    code.fill(last_code(NUMBER))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    expect(page.locator("#texts-sent")).to_contain_text("+1 •••-•••-2671")
    expect(page.locator("#sign-in-activity")).to_contain_text("Text Messages")
    assert csp_errors == []


def test_step_two_turns_sending_into_sent_without_a_reload(page, user, settings):
    """The worker sends the text after the page was served; the page's script notices, with no CSP error."""
    from accounts.delivery import engine
    from tests.mfa.sms.conftest import enrol_sms

    enrol_sms(user)
    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"  # the web side only queues, as in production
    csp_errors = []
    page.on("console", lambda message: csp_errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in_page(page, user.email, code=None)
    status = page.locator("#sms-delivery")
    expect(status).to_have_text("Sending the text…")
    url_before = page.url

    assert engine.deliver_due() == {"sent": 1}  # the worker's turn

    expect(status).to_have_text("Sent.")
    assert page.url == url_before
    page.get_by_label("Code", exact=True).fill(last_code(NUMBER))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    assert csp_errors == []


def test_step_two_shows_a_failed_text_and_frees_resend_without_a_reload(page, user, settings, fake_twilio):
    """Twilio refuses the number after the page was served: the page says so, and Resend works at once."""
    from accounts.delivery import engine
    from tests.mfa.sms.conftest import enrol_sms

    settings.MFA_SMS_BACKEND = "outbox"
    enrol_sms(user)
    settings.MFA_SMS_BACKEND = "twilio"
    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"
    sign_in_page(page, user.email, code=None)
    expect(page.locator("#sms-delivery")).to_have_text("Sending the text…")
    expect(page.get_by_role("button", name="Resend code")).to_be_disabled()  # the 30 s cooldown
    fake_twilio.fail_next(21614)

    assert engine.deliver_due() == {"failed": 1}

    failure = page.get_by_role("alert")
    expect(failure).to_contain_text("We could not send the text: This number cannot receive text messages")
    expect(page.get_by_text("The code works once")).to_be_hidden()
    expect(page.get_by_text("We are sending a code")).to_be_hidden()
    expect(page.get_by_role("button", name="Resend code")).to_be_enabled()  # its slot was given back
    page.get_by_role("button", name="Resend code").click()
    expect(page.locator("#sms-delivery")).to_have_text("Sending the text…")


def test_phone_sized_screen_sets_up_a_national_number_for_a_us_agency(browser, live_server, user):
    from agencies.flows import create_agency
    from tests.conftest import ensure_plans

    ensure_plans()
    agency = create_agency(name="Yankee Agency", plan_code="growth", owner=user)
    agency.country = "US"  # no flow sets the country yet
    agency.save(update_fields=["country"])
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    csp_errors = []
    page.on("console", lambda message: csp_errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in_page(page, user.email, code=None)
    page.goto("/mfa/sms/")

    country = page.get_by_label("Country")
    number = page.get_by_label("Mobile number")
    expect(country).to_have_value("US")
    expect(number).to_have_attribute("placeholder", "(201) 555-0123")
    expect(number).to_have_accessible_description(
        "Your mobile number. Include the country code if it’s outside the selected country.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
    country.select_option("GB")
    expect(number).to_have_attribute("placeholder", "07400 123456")  # phone.js follows the country
    country.select_option("US")
    number.fill("(415) 555-2671")
    page.get_by_role("button", name="Text me a code").click()

    expect(page).to_have_url(re.compile(r"/mfa/sms/verify/$"))
    expect(page.locator("#sms-verify")).to_contain_text("We texted a 6-digit code to +1 415-555-2671.")
    assert OutboxMessage.objects.filter(to=NUMBER).count() == 1
    assert csp_errors == []
    context.close()
