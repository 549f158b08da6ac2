"""Step-up re-authentication in a real browser: Profile > "Choose which authentication method to use"."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_page
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device


def test_choose_method_asks_to_reauthenticate_then_opens_chooser(page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    expect(page).to_have_url(re.compile(r"/account/profile/$"))

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

    page.goto("/mfa/default/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("Enter the code.")).to_be_visible()
    assert "/account/reauthenticate/" in page.url
