"""The help article's three administrator paths, in a real browser."""
import re

from playwright.sync_api import Page, expect

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
