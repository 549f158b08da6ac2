"""Google Authenticator in a real browser, enrolled the way a phone does it: by reading the QR code."""
import re
import subprocess

import pyotp
from playwright.sync_api import expect

from ctm_auth import clock
from tests.browser.conftest import sign_in_page

ZBARIMG = "/usr/bin/zbarimg"


def read_qr_code(page, tmp_path) -> str:
    """Screenshot the QR code element and decode it with zbarimg, as a phone's camera would."""
    image = tmp_path / "totp-qr.png"
    page.locator("#totp-qr").screenshot(path=str(image))
    result = subprocess.run([ZBARIMG, "--raw", "-q", str(image)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"zbarimg could not read the QR code: {result.stderr}"
    return result.stdout.strip()


def test_enrol_google_authenticator_by_qr_code_then_sign_in_with_it(page, user, tmp_path):
    sign_in_page(page, user.email, code=None)
    assert page.url.endswith("/account/profile/")

    # Account Details > Profile > Multi-Factor Methods > Google Authenticator > Add/Edit
    row = page.locator('tr.method-row[data-method="totp"]')
    expect(row).to_contain_text("Not set up")
    row.get_by_role("link", name="Add/Edit").click()

    # A sensitive area, but the sign-in just now counts as the step-up.
    expect(page.get_by_role("heading", name="Google Authenticator")).to_be_visible()
    expect(page.get_by_role("link", name="Microsoft Authenticator")).to_have_attribute(
        "href", "https://www.microsoft.com/en-us/security/mobile-authenticator-app")
    page.get_by_role("button", name="Set up Google Authenticator").click()

    expect(page.get_by_role("heading", name="Set up Google Authenticator")).to_be_visible()
    uri = read_qr_code(page, tmp_path)
    assert uri.startswith("otpauth://totp/CallTrackingMetrics:user%40example.test?")
    authenticator = pyotp.parse_uri(uri)
    assert authenticator.issuer == "CallTrackingMetrics" and authenticator.name == user.email
    shown_key = page.locator("#totp-key").inner_text()
    assert shown_key.replace(" ", "") == authenticator.secret
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", shown_key)
    # On the same phone: the link opens the app with the very address the QR code holds.
    expect(page.get_by_role("link", name="Open in authenticator app")).to_have_attribute("href", uri)

    code = page.get_by_label("Code", exact=True)
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("inputmode", "numeric")
    code.fill(authenticator.at(clock.timestamp()))
    page.get_by_role("button", name="Verify and turn on").click()

    # The first method: set-up ends on the new backup codes (tests/browser/test_backup_codes.py).
    expect(page.get_by_text("Google Authenticator is on.")).to_be_visible()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Done").click()

    assert page.url.endswith("/account/profile/")
    expect(row.locator(".in-use-dot")).to_be_visible()  # the green circle
    expect(row).to_contain_text("Enabled")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    # The next code: the one used for set-up is spent, as it would be on a phone 30 s later.
    clock.advance(30)
    sign_in_page(page, user.email, code=None)
    assert page.url.endswith("/account/login/verify/")
    expect(page.get_by_text("Google Authenticator")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(authenticator.at(clock.timestamp()))
    page.get_by_role("button", name="Verify").click()

    assert page.url.endswith("/account/profile/")
    expect(page.locator("#sign-in-activity")).to_contain_text("Google Authenticator")


def test_setup_copy_key_puts_the_key_on_the_clipboard(page, user):
    sign_in_page(page, user.email, code=None)
    page.locator('tr.method-row[data-method="totp"]').get_by_role("link", name="Add/Edit").click()
    page.get_by_role("button", name="Set up Google Authenticator").click()
    expect(page.get_by_role("heading", name="Set up Google Authenticator")).to_be_visible()
    secret = pyotp.parse_uri(page.get_by_role("link", name="Open in authenticator app").get_attribute("href")).secret

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy key").click()

    expect(page.get_by_role("status").filter(has_text="Key copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert page.locator("#totp-key").inner_text().replace(" ", "") == secret
