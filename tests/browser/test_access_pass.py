"""A user who lost their phone: the administrator issues a temporary access pass, the user signs in with it
and sets up Google Authenticator, in a real browser."""
import re

import pyotp
from playwright.sync_api import expect

from ctm_auth import clock
from mfa.access_pass.models import AccessPass, Status
from mfa.totp.models import TOTPDevice
from tests.browser.conftest import sign_in_page
from tests.browser.test_agency_admin import open_settings_entry, reauthenticate_page
from tests.browser.test_totp import read_qr_code
from tests.conftest import add_fake_device
from tests.mfa.sms.conftest import enrol_sms

PASS = re.compile(r"([0-9A-Z]{4}-){3}[0-9A-Z]{4}")


def test_admin_issues_a_pass_and_the_user_signs_in_with_it_and_sets_up_google_authenticator(page, acme, tmp_path):
    enrol_sms(acme.alice)  # Text Messages only, and the phone is lost
    add_fake_device(acme.admin)

    # Settings > Manage Users > Edit > "Issue a temporary access pass", behind step-up.
    sign_in_page(page, acme.admin.email)
    open_settings_entry(page, "Manage Users")
    page.locator('tr.member-row[data-email="alice@acme.test"]').get_by_role("link", name="Edit").click()
    section = page.locator("#temporary-access-pass")
    expect(section).to_contain_text("No temporary access pass has been issued.")
    section.get_by_role("link", name="Issue a temporary access pass").click()
    reauthenticate_page(page)
    expect(page.get_by_label("Valid for (hours)")).to_have_value("24")
    page.get_by_role("button", name="Issue a temporary access pass").click()

    # Shown once, with Copy (a static script: the CSP allows no inline one).
    expect(page.get_by_text("This is the only time the pass is shown.")).to_be_visible()
    shown = page.locator("#access-pass").inner_text().strip()
    assert PASS.fullmatch(shown), shown
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown
    page.get_by_role("link", name="Done").click()
    expect(page.locator("#access-pass-state")).to_contain_text("Active until")
    page.get_by_role("button", name="Sign out").click()

    # Alice: her password, then "Use a temporary access pass" instead of the text to her lost phone.
    sign_in_page(page, acme.alice.email, code=None)
    assert "/account/login/verify/" in page.url
    expect(page.get_by_text("Text Messages")).to_be_visible()
    page.get_by_role("link", name="Use a temporary access pass").click()
    expect(page.get_by_text("Enter the temporary access pass your administrator gave you.")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(copied)
    page.get_by_role("button", name="Verify").click()

    # Before anything else: a new method. Every other page comes back here.
    expect(page.get_by_role("heading", name="Set up a new sign-in method")).to_be_visible()
    assert AccessPass.objects.get(user=acme.alice).status == Status.USED
    page.goto("/account/profile/")
    expect(page.get_by_role("heading", name="Set up a new sign-in method")).to_be_visible()

    page.locator('li[data-method="totp"]').get_by_role("link", name="Set up").click()
    expect(page.get_by_role("heading", name="Google Authenticator")).to_be_visible()  # no step-up asked
    page.get_by_role("button", name="Set up Google Authenticator").click()
    expect(page.get_by_role("heading", name="Set up Google Authenticator")).to_be_visible()
    authenticator = pyotp.parse_uri(read_qr_code(page, tmp_path))
    assert authenticator.name == acme.alice.email
    page.get_by_label("Code", exact=True).fill(authenticator.at(clock.timestamp()))
    page.get_by_role("button", name="Verify and turn on").click()

    # Her Profile, with Google Authenticator on.
    expect(page.get_by_text("Google Authenticator is on.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    expect(page.locator('tr.method-row[data-method="totp"]')).to_contain_text("Enabled")
    assert TOTPDevice.objects.filter(user=acme.alice, confirmed=True).exists()
    page.goto("/account/profile/")
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
