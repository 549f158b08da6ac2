"""Parent Settings > Security in a real browser: the phishing-resistant shortcut and the impact preview."""
from playwright.sync_api import Page, expect

from agencies.models import Agency
from tests.browser.conftest import sign_in_page
from tests.conftest import add_fake_device

SHORTCUT = "Require phishing-resistant methods (passkeys and security keys only)"


def test_shortcut_ticks_only_passkeys_and_unticks_when_a_box_changes(page: Page, acme):
    add_fake_device(acme.owner)
    sign_in_page(page, acme.owner.email)
    page.locator("details.menu", has_text="Settings").locator("summary").click()
    page.get_by_role("link", name="Parent Settings › Security").click()
    page.wait_for_load_state()  # the deferred script has run: its listeners are on the boxes
    shortcut = page.get_by_label(SHORTCUT)
    boxes = {label: page.get_by_label(label, exact=True)
             for label in ("Text Messages", "Google Authenticator", "Passkeys and security keys", "Fake code")}
    shortcut.check()
    for label, box in boxes.items():
        (expect(box).to_be_checked if label == "Passkeys and security keys" else expect(box).not_to_be_checked)()
    boxes["Google Authenticator"].check()
    expect(shortcut).not_to_be_checked()
    boxes["Google Authenticator"].uncheck()
    expect(shortcut).to_be_checked()
    page.get_by_role("button", name="Save").click()  # not required: no impact, saved at once
    expect(page.get_by_text("Security settings saved.")).to_be_visible()
    assert Agency.objects.get(pk=acme.agency.pk).allowed_methods == ["webauthn"]


def test_preview_then_back_keeps_the_values(page: Page, acme):
    add_fake_device(acme.owner)
    sign_in_page(page, acme.owner.email)
    page.locator("details.menu", has_text="Settings").locator("summary").click()
    page.get_by_role("link", name="Parent Settings › Security").click()
    page.get_by_label("Require two-factor authentication for all users across subaccounts").check()
    page.get_by_label("Grace period (days)").fill("9")
    page.get_by_label("Text Messages", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("This will require 3 users to set up a new method: 3 have none.")).to_be_visible()
    expect(page.locator(".impact-row")).to_have_count(3)
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Grace period (days)")).to_have_value("9")
    expect(page.get_by_label("Text Messages", exact=True)).not_to_be_checked()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Security settings saved.")).to_be_visible()
    agency = Agency.objects.get(pk=acme.agency.pk)
    assert agency.require_two_factor and agency.two_factor_grace_days == 9
    assert agency.allowed_methods == ["totp", "webauthn", "fake"]
