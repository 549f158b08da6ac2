"""Backup Codes in a real browser: set up, sign in with one code, and see it refused the second time."""
import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_page
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device

CODE = re.compile(r"^[2-9a-z]{6}-[2-9a-z]{6}$")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def sign_in_with_backup_code(page: Page, email: str, code: str) -> None:
    sign_in_page(page, email, code=None)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    page.get_by_role("link", name="Use a backup code").click()
    expect(page.get_by_text("Enter one of your backup codes.")).to_be_visible()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def test_generate_save_sign_in_with_a_code_and_reuse_is_refused(page: Page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    page.locator('tr[data-method="backup_codes"]').get_by_role("link", name="Add/Edit").click()

    # Sensitive area: step-up first.
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code").fill(FAKE_CODE)
    page.get_by_role("button", name="Confirm").click()

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
