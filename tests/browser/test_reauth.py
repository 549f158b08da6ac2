"""Step-up re-authentication in a real browser: Profile > "Choose which authentication method to use"."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_page
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, let_step_up_window_pass
from tests.mfa.sms.conftest import NUMBER, enrol_sms, last_code


def test_choose_method_asks_to_reauthenticate_then_opens_chooser(page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    let_step_up_window_pass()  # the sign-in's own window

    page.get_by_role("link", name="Choose which authentication method to use").click()

    expect(page).to_have_url(re.compile(r"/account/reauthenticate/\?next=%2Fmfa%2Fdefault%2F$"))
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("autocomplete", "one-time-code")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/mfa/default/$"))
    expect(page.get_by_role("heading", name="Choose which authentication method to use")).to_be_visible()
    expect(page.get_by_label("Choose which authentication method to use")).to_be_visible()


def test_reauthenticate_with_password_alone_stays_on_confirm_page(page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    let_step_up_window_pass()

    page.goto("/mfa/default/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("Enter the code.")).to_be_visible()
    assert "/account/reauthenticate/" in page.url


def test_generate_backup_codes_after_window_expired_lands_on_its_page_then_works(page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    page.locator('tr[data-method="backup_codes"]').get_by_role("link", name="Add/Edit").click()
    expect(page.get_by_role("heading", name="Backup Codes")).to_be_visible()  # the sign-in opened the window
    let_step_up_window_pass()  # the page stays open while the window runs out (the live server shares the clock)

    page.get_by_role("button", name="Generate Backup Codes").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/mfa/backup_codes/$"))  # the page with the button, never a 405
    expect(page.get_by_text("Confirmed. Press “Generate Backup Codes” again.")).to_be_visible()
    page.get_by_role("button", name="Generate Backup Codes").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()


def test_text_me_a_code_keeps_the_typed_password(page, user):
    enrol_sms(user)
    sign_in_page(page, user.email, code=None)
    page.get_by_label("Code", exact=True).fill(last_code(NUMBER))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    let_step_up_window_pass()

    page.goto("/mfa/sms/")
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Text me a code").click()

    expect(page.locator("#sms-challenge")).to_contain_text("+1 •••-•••-2671")
    expect(page.get_by_label("Password")).to_have_value(PASSWORD)
    page.get_by_label("Code", exact=True).fill(last_code(NUMBER))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/mfa/sms/$"))
