"""The help article's three administrator paths, in a real browser."""
import re

from playwright.sync_api import Page, expect

from mfa.backup_codes.models import BackupCodeSet
from mfa.totp.models import TOTPDevice
from tests.browser.conftest import sign_in_page
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.totp.conftest import enrol


def open_settings_entry(page: Page, entry: str) -> None:
    page.locator("details.menu", has_text="Settings").locator("summary").click()
    page.get_by_role("link", name=entry).click()


def reauthenticate_page(page: Page, *, code: str | None = FAKE_CODE) -> None:
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("sensitive security area")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    if code is not None:
        page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Confirm").click()


def test_admin_resets_alices_google_authenticator_then_she_enrols_again(page, acme):
    enrol(acme.alice)
    add_fake_device(acme.admin)
    sign_in_page(page, acme.admin.email)

    # Settings > Manage Users > Edit > Multi-Factor Methods
    open_settings_entry(page, "Manage Users")
    alice_row = page.locator('tr.member-row[data-email="alice@acme.test"]')
    expect(alice_row.locator(".in-use-dot")).to_be_visible()
    alice_row.get_by_role("link", name="Edit").click()
    totp_row = page.locator('tr.method-row[data-method="totp"]')
    expect(totp_row.locator(".in-use-dot")).to_be_visible()  # the method in use: green circle
    totp_row.get_by_role("link", name="Add/Edit").click()

    reauthenticate_page(page)
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Google Authenticator was disabled for alice@acme.test")).to_be_visible()
    assert not TOTPDevice.objects.filter(user=acme.alice, confirmed=True).exists()
    page.get_by_role("button", name="Sign out").click()

    # Alice signs in without a second step, and can turn it on again.
    sign_in_page(page, acme.alice.email, code=None)
    assert page.url.endswith("/account/profile/")
    row = page.locator('tr.method-row[data-method="totp"]')
    expect(row).to_contain_text("Not set up")
    row.get_by_role("link", name="Add/Edit").click()  # her sign-in just now counts as the step-up
    expect(page.get_by_role("button", name="Set up Google Authenticator")).to_be_visible()


def test_admin_views_bobs_backup_codes(page, acme):
    add_fake_device(acme.bob)
    codes = set_up_codes(acme.bob)
    add_fake_device(acme.admin)
    sign_in_page(page, acme.admin.email)

    open_settings_entry(page, "Manage Users")
    page.locator('tr.member-row[data-email="bob@acme.test"]').get_by_role("link", name="Edit").click()
    page.locator('tr.method-row[data-method="backup_codes"]').get_by_role("link", name="Add/Edit").click()
    reauthenticate_page(page)
    page.get_by_role("button", name="View Backup Codes").click()

    expect(page.get_by_role("heading", name="Backup codes of bob@acme.test")).to_be_visible()
    shown = page.locator("#backup-codes").inner_text()
    assert all(code in shown for code in codes)


def test_owner_requires_two_factor_and_a_user_without_it_must_enrol(page, acme):
    add_fake_device(acme.owner)
    sign_in_page(page, acme.owner.email)

    open_settings_entry(page, "Parent Settings › Security")  # the sign-in just now counts as the step-up
    page.get_by_label("Require two-factor authentication for all users across subaccounts").check()
    page.get_by_label("Grace period (days)").fill("0")
    page.get_by_role("button", name="Save").click()
    # The impact preview: admin, alice and bob have no method, and grace 0 blocks them at once.
    expect(page.get_by_text("This will require 3 users to set up a new method: 3 have none.")).to_be_visible()
    page.get_by_label("I understand 3 users will be blocked until they set up an allowed method").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Security settings saved.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in_page(page, acme.bob.email, code=None)
    expect(page).to_have_url(re.compile(r"/account/two-factor-required/$"))
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    page.goto("/account/profile/")
    expect(page).to_have_url(re.compile(r"/account/two-factor-required/$"))
    page.locator("li", has_text="Google Authenticator").get_by_role("link", name="Add/Edit").click()
    expect(page.get_by_role("button", name="Set up Google Authenticator")).to_be_visible()


def open_bobs_backup_codes(page: Page, acme) -> None:
    add_fake_device(acme.admin)
    sign_in_page(page, acme.admin.email)
    open_settings_entry(page, "Manage Users")
    page.locator('tr.member-row[data-email="bob@acme.test"]').get_by_role("link", name="Edit").click()
    page.locator('tr.method-row[data-method="backup_codes"]').get_by_role("link", name="Add/Edit").click()
    reauthenticate_page(page)


def test_admin_generates_bobs_codes_after_confirming_then_copies_downloads_and_prints(page, acme):
    add_fake_device(acme.bob)
    old_codes = set_up_codes(acme.bob)
    open_bobs_backup_codes(page, acme)

    page.get_by_role("button", name="Generate Backup Codes").click()
    expect(page.get_by_text(
        "Generating new codes for Bob Example invalidates their current 10 codes (10 unused). Continue?")).to_be_visible()
    page.get_by_role("button", name="Generate Backup Codes").click()
    expect(page.get_by_text("A new set was generated")).to_be_visible()
    codes = [text.strip() for text in page.locator("[data-backup-code]").all_inner_texts()]
    assert len(codes) == 10 and not set(codes) & set(old_codes)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert re.fullmatch(r"CallTrackingMetrics-backup-codes-bob@acme\.test-\d{4}-\d{2}-\d{2}\.txt",
                        download.suggested_filename), download.suggested_filename
    with open(download.path(), encoding="utf-8") as saved:
        text = saved.read()
    assert re.match(r"Backup codes for Bob Example <bob@acme\.test>, Acme Agency, generated \d{1,2} \w+ \d{4}\n", text)
    assert all(code in text for code in codes) and "admin@acme.test" not in text and "Adam Admin" not in text

    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")
    printed = page.locator("body").inner_text()  # what print.css leaves visible
    assert re.search(r"Backup codes for Bob Example <bob@acme\.test>, Acme Agency, generated", printed), printed
    assert all(code in printed for code in codes)
    assert "admin@acme.test" not in printed and "Adam Admin" not in printed, printed
    assert "Copy" not in printed and "Sign out" not in printed


def test_admin_is_warned_before_disabling_alices_only_method(page, acme):
    add_fake_device(acme.alice)
    set_up_codes(acme.alice)
    add_fake_device(acme.admin)
    sign_in_page(page, acme.admin.email)
    open_settings_entry(page, "Manage Users")
    page.locator('tr.member-row[data-email="alice@acme.test"]').get_by_role("link", name="Edit").click()
    page.locator('tr.method-row[data-method="fake"]').get_by_role("link", name="Add/Edit").click()
    reauthenticate_page(page)

    warning = page.locator("#last-primary-warning")
    expect(warning).to_contain_text("This is Alice Example's only two-factor method. Disabling it also deletes "
                                    "their backup codes")
    expect(warning).to_contain_text("issue a temporary access pass instead")
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("was disabled for alice@acme.test")).to_be_visible()
    assert not BackupCodeSet.objects.filter(user=acme.alice).exists()
