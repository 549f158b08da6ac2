"""Backup Codes in a real browser: set up, sign in with one code, and see it refused the second time."""
import re

import pyotp
from playwright.sync_api import Page, expect

from ctm_auth import clock
from tests.browser.conftest import sign_in_page
from tests.browser.test_totp import read_qr_code
from tests.conftest import PASSWORD, add_fake_device

CODE = re.compile(r"^[2-9a-z]{6}-[2-9a-z]{6}$")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def sign_in_with_backup_code(page: Page, email: str, code: str) -> None:
    sign_in_page(page, email, code=None)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    page.get_by_role("link", name="Use a backup code").click()
    expect(page.get_by_text("Enter one of your backup codes.")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()


def test_generate_save_sign_in_with_a_code_and_reuse_is_refused(page: Page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    page.locator('tr[data-method="backup_codes"]').get_by_role("link", name="Add/Edit").click()

    # A sensitive area, but the sign-in with a code just now counts as the step-up.
    page.get_by_role("button", name="Generate Backup Codes").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    codes = [text.strip() for text in page.locator("[data-backup-code]").all_inner_texts()]
    assert len(codes) == 10 and all(CODE.match(code) for code in codes), codes

    # The buttons a static script switches on (the CSP allows no inline script).
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    download = download_info.value
    assert re.fullmatch(r"CallTrackingMetrics-backup-codes-user@example\.test-\d{4}-\d{2}-\d{2}\.txt",
                        download.suggested_filename), download.suggested_filename
    with open(download.path(), encoding="utf-8") as saved:
        text = saved.read()
        assert all(code in text for code in codes), text

    page.get_by_role("button", name="Done").click()
    expect(page.get_by_text("Tick “I have saved these codes”")).to_be_visible()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Done").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    expect(page.locator('tr[data-method="backup_codes"]')).to_contain_text("10 of 10 codes remaining")
    sign_out(page)

    sign_in_with_backup_code(page, user.email, codes[0].upper().replace("-", " "))
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    expect(page.get_by_text("Backup code accepted: 9 remaining.")).to_be_visible()
    expect(page.locator('tr[data-method="backup_codes"]')).to_contain_text("9 of 10 codes remaining")
    sign_out(page)

    sign_in_with_backup_code(page, user.email, codes[0])
    expect(page).to_have_url(re.compile(r"/account/login/verify/"))
    expect(page.get_by_role("alert")).to_have_text(
        "That backup code has already been used. Each code works once; use another one.")
    page.goto("/account/profile/")
    assert "/account/login/verify/" in page.url  # still only half signed in


def test_first_set_up_ends_on_the_backup_codes(page: Page, user, tmp_path):
    """Google Authenticator, enrolled by reading its QR code, is the first method: set-up ends on the codes."""
    sign_in_page(page, user.email, code=None)
    clock.advance(11 * 60)  # past the step-up window, whatever opened it
    page.get_by_role("link", name="Choose which authentication method to use").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    # The seed's step 3: the chooser lists the methods, each with its Add/Edit.
    expect(page.get_by_text("You have no two-factor method yet.")).to_be_visible()
    page.locator('tr[data-method="totp"]').get_by_role("link", name="Add/Edit").click()
    page.get_by_role("button", name="Set up Google Authenticator").click()
    authenticator = pyotp.parse_uri(read_qr_code(page, tmp_path))
    page.get_by_label("Code", exact=True).fill(authenticator.at(clock.timestamp()))
    page.get_by_role("button", name="Verify and turn on").click()

    expect(page).to_have_url(re.compile(r"/mfa/backup_codes/new/$"))
    expect(page.get_by_text("Google Authenticator is on.")).to_be_visible()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    codes = [text.strip() for text in page.locator("[data-backup-code]").all_inner_texts()]
    assert len(codes) == 10 and all(CODE.match(code) for code in codes), codes
    for button in ("Copy", "Print"):
        expect(page.get_by_role("button", name=button)).to_be_visible()
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Done").click()

    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    row = page.locator('tr[data-method="backup_codes"]')
    expect(row).to_contain_text("10 of 10 codes remaining")
    expect(row).not_to_contain_text("No backup codes")
    expect(page.locator('tr[data-method="totp"] .in-use-dot')).to_be_visible()
