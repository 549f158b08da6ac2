""""Set up two-factor authentication" in a real browser: which method it recommends, with and without WebAuthn."""
import re

from playwright.sync_api import expect

from agencies import flows
from tests.browser.conftest import sign_in_page
from tests.conftest import add_fake_device


def require_two_factor(acme) -> None:
    add_fake_device(acme.owner)
    flows.set_security_policy(None, actor=acme.owner, agency=acme.agency,
                              policy=flows.SecurityPolicy(required=True, grace_days=0),
                              confirmed=True, acknowledged=True)


def recommended_rows(page) -> list[str]:
    """The methods whose "Recommended" is visible."""
    rows = page.locator("li.method-choice")
    return [rows.nth(i).get_attribute("data-method") for i in range(rows.count())
            if rows.nth(i).get_by_text("Recommended").filter(visible=True).count()]


def test_passkeys_are_recommended_in_a_browser_with_webauthn(page, acme):
    require_two_factor(acme)

    sign_in_page(page, acme.bob.email, code=None)

    expect(page).to_have_url(re.compile(r"/account/two-factor-required/$"))
    expect(page.locator('li[data-method="webauthn"]').get_by_text("Recommended")).to_be_visible()
    assert recommended_rows(page) == ["webauthn"]


def test_google_authenticator_is_recommended_in_a_browser_without_webauthn(page, acme):
    require_two_factor(acme)
    page.add_init_script("delete window.PublicKeyCredential;")

    sign_in_page(page, acme.bob.email, code=None)

    expect(page).to_have_url(re.compile(r"/account/two-factor-required/$"))
    expect(page.locator('li[data-method="totp"]').get_by_text("Recommended")).to_be_visible()
    assert recommended_rows(page) == ["totp"]
