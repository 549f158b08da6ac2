"""Passkeys and security keys in a real browser: Chromium's virtual authenticator, driven over CDP.

Chromium refuses WebAuthn with an IP address as the relying party id, so
these pages open on http://localhost:<port>; the test settings take the RP
id and origin from the request's host (MFA_WEBAUTHN_TRUST_REQUEST_HOST).
A virtual authenticator belongs to one page: a second browser (an
administrator's) gets its own context, and its own authenticator if needed.

Chromium's virtual authenticator answers a conditional request (the
passkey autofill on the email field) at once, as if the person had picked
the passkey from the list. So the pages here hide that autofill
(NO_AUTOFILL, as in a browser without it) except in the test of the
autofill itself: otherwise every visit to the sign-in page would sign in.
"""
import re

import pytest
from playwright.sync_api import Page, expect

from accounts import audit
from accounts.models import AuditEvent
from mfa.webauthn.models import WebAuthnCredential
from tests.browser.conftest import sign_in_page
from tests.browser.test_agency_admin import open_settings_entry, reauthenticate_page
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, let_step_up_window_pass

PROFILE = re.compile(r"/account/profile/$")
PASSKEY_ROW = 'tr.method-row[data-method="webauthn"]'
NO_WEBAUTHN = "delete window.PublicKeyCredential"
NO_AUTOFILL = ("Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', "
               "{value: () => Promise.resolve(false)})")


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a browser context of its own on http://localhost:<port>; closed after the test."""
    base_url = live_server.url.replace("127.0.0.1", "localhost")
    contexts = []

    def open_page(*, init_script: str = "") -> Page:
        context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
        context.set_default_timeout(10_000)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page(init_script=NO_AUTOFILL)


class VirtualAuthenticator:
    """A platform authenticator with user verification (a laptop's fingerprint reader), over CDP."""

    def __init__(self, page: Page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
        }})["authenticatorId"]

    def verify_user(self, verified: bool) -> None:
        """Whether the fingerprint (or PIN) the authenticator asks for is accepted."""
        self.cdp.send("WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": verified})

    def credentials(self) -> list[dict]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]


@pytest.fixture
def authenticator(page) -> VirtualAuthenticator:
    return VirtualAuthenticator(page)


def add_passkey(page: Page, name: str = "MacBook Touch ID") -> None:
    """From a signed-in Profile: Passkeys and security keys > Add/Edit, add a key, and save the backup codes."""
    page.locator(PASSKEY_ROW).get_by_role("link", name="Add/Edit").click()
    if page.get_by_role("heading", name="Confirm it's you").is_visible():
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add a passkey or security key").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Done").click()
    expect(page).to_have_url(PROFILE)


def signed_up_with_passkey(page: Page, user, name: str = "MacBook Touch ID") -> WebAuthnCredential:
    """Sign in with the password, add a passkey from the Profile, sign out; return the key's row."""
    sign_in_page(page, user.email, code=None)
    add_passkey(page, name)
    sign_out(page)
    return WebAuthnCredential.objects.get(user=user)


def signed_in_as(page: Page):
    """The header's "<email> Sign out": there only once signed in (step 2 shows just "Sign out")."""
    return page.locator("form.signout .who")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def test_add_a_passkey_from_the_profile_after_confirming_with_the_password(page, authenticator, user):
    sign_in_page(page, user.email, code=None)
    expect(page).to_have_url(PROFILE)
    row = page.locator(PASSKEY_ROW)
    expect(row).to_contain_text("Passkeys and security keys")
    expect(row).to_contain_text("Not set up")
    let_step_up_window_pass()  # the sign-in's own window

    row.get_by_role("link", name="Add/Edit").click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_label("Code", exact=True)).to_have_count(0)  # a password is all this user has
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/mfa/webauthn/$"))
    expect(page.get_by_role("heading", name="Passkeys and security keys")).to_be_visible()
    expect(page.get_by_text("You have no passkey or security key yet.")).to_be_visible()
    page.get_by_label("Name").fill("MacBook Touch ID")
    page.get_by_role("button", name="Add a passkey or security key").click()

    # The first method: set-up ends on the new backup codes.
    expect(page.get_by_text("“MacBook Touch ID” was added. You can use it to sign in.")).to_be_visible()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    page.get_by_label("I have saved these codes").check()
    page.get_by_role("button", name="Done").click()

    expect(page).to_have_url(PROFILE)
    expect(row.locator(".in-use-dot")).to_be_visible()  # the green circle
    expect(row).to_contain_text("Enabled · 1 key")
    key = WebAuthnCredential.objects.get(user=user)
    assert key.name == "MacBook Touch ID" and key.confirmed and key.discoverable
    [held] = authenticator.credentials()
    assert held["isResidentCredential"] and held["rpId"] == "localhost"


def test_sign_out_then_sign_in_with_the_passkey_alone(page, authenticator, user):
    key = signed_up_with_passkey(page, user)
    expect(signed_in_as(page)).to_have_count(0)

    page.goto("/account/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()  # no email, no password

    expect(page).to_have_url(PROFILE)
    expect(signed_in_as(page)).to_have_text(user.email)
    activity = page.locator("#sign-in-activity tbody tr").first
    expect(activity).to_contain_text("Success")
    expect(activity).to_contain_text("Passkeys and security keys")
    key.refresh_from_db()
    assert key.last_used_at is not None
    sign_in = AuditEvent.objects.filter(event_type=audit.SIGN_IN_SUCCEEDED, target_user=user).latest("pk")
    assert sign_in.method == "webauthn"


def test_step_up_asks_for_the_password_and_the_passkey(page, authenticator, user):
    key = signed_up_with_passkey(page, user)
    page.goto("/account/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(PROFILE)
    let_step_up_window_pass()
    key.refresh_from_db()
    count_before = key.sign_count

    page.locator(PASSKEY_ROW).get_by_role("link", name="Add/Edit").click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("Use a passkey or security key you added to this account.")).to_be_visible()
    page.get_by_role("button", name="Use your passkey or security key").click()
    expect(page.locator("[data-webauthn-status]")).to_have_text("Enter your password first.")
    expect(page.get_by_label("Password")).to_be_focused()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Use your passkey or security key").click()

    expect(page).to_have_url(re.compile(r"/mfa/webauthn/$"))
    expect(page.get_by_text("You have 1 key.")).to_be_visible()
    key.refresh_from_db()
    assert key.sign_count > count_before
    event = AuditEvent.objects.filter(event_type=audit.REAUTH_SUCCEEDED).latest("pk")
    assert event.method == "webauthn"


def test_step_2_of_a_password_sign_in_with_the_passkey(page, authenticator, user):
    signed_up_with_passkey(page, user)

    sign_in_page(page, user.email, code=None)

    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    expect(page.locator(".method-name")).to_have_text("Passkeys and security keys")
    page.get_by_role("button", name="Use your passkey or security key").click()

    expect(page).to_have_url(PROFILE)
    expect(signed_in_as(page)).to_have_text(user.email)
    expect(page.locator("#sign-in-activity tbody tr").first).to_contain_text("Passkeys and security keys")


def test_an_administrator_resets_a_members_passkeys(page, authenticator, new_page, acme):
    signed_up_with_passkey(page, acme.alice)
    add_fake_device(acme.admin)
    admin = new_page(init_script=NO_AUTOFILL)
    sign_in_page(admin, acme.admin.email)

    # Settings > Manage Users > Edit > Multi-Factor Methods > Passkeys and security keys > Add/Edit
    open_settings_entry(admin, "Manage Users")
    alice_row = admin.locator('tr.member-row[data-email="alice@acme.test"]')
    expect(alice_row.locator(".two-factor")).to_contain_text("Passkeys and security keys")
    alice_row.get_by_role("link", name="Edit").click()
    passkey_row = admin.locator(PASSKEY_ROW)
    expect(passkey_row.locator(".in-use-dot")).to_be_visible()
    expect(passkey_row).to_contain_text("Enabled · 1 key")
    passkey_row.get_by_role("link", name="Add/Edit").click()
    reauthenticate_page(admin)  # each visit to a member's method asks again
    expect(admin.get_by_role("heading", name="Passkeys and security keys")).to_be_visible()
    admin.get_by_role("button", name="Disable").click()

    expect(admin.get_by_text("Passkeys and security keys was disabled for alice@acme.test. "
                             "They were signed out everywhere.")).to_be_visible()
    expect(passkey_row).to_contain_text("Not set up")
    expect(passkey_row.locator(".in-use-dot")).to_have_count(0)
    assert not WebAuthnCredential.objects.filter(user=acme.alice).exists()
    admin.get_by_role("link", name="Back to Manage Users").click()
    expect(alice_row.locator(".two-factor")).not_to_contain_text("Passkeys and security keys")
    expect(alice_row.locator(".two-factor")).to_contain_text("Not enabled")

    # Alice was signed out everywhere; her password alone signs her in now, with no step 2.
    page.reload()
    expect(page).to_have_url(re.compile(r"/account/login/"))
    sign_in_page(page, acme.alice.email, code=None)
    expect(page).to_have_url(PROFILE)
    expect(signed_in_as(page)).to_have_text(acme.alice.email)
    expect(page.locator(PASSKEY_ROW)).to_contain_text("Not set up")


def test_a_passkey_removed_from_the_profile_but_kept_on_the_device_is_refused(page, authenticator, user):
    sign_in_page(page, user.email, code=None)
    add_passkey(page)
    page.locator(PASSKEY_ROW).get_by_role("link", name="Add/Edit").click()
    page.get_by_role("link", name="Remove").click()
    expect(page.get_by_text("The passkey may stay saved on your device")).to_be_visible()
    page.get_by_role("button", name="Disable").click()
    expect(page).to_have_url(PROFILE)
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert len(authenticator.credentials()) == 1  # the device still offers it
    sign_out(page)

    with page.expect_response(lambda response: response.request.method == "POST"
                              and response.url.endswith("/account/login/with/webauthn/")) as answered:
        page.get_by_role("button", name="Sign in with a passkey").click()

    assert answered.value.status == 400  # the sign-in page again, with why
    expect(page.get_by_text("This passkey or security key is not registered to an account here.")).to_be_visible()
    expect(signed_in_as(page)).to_have_count(0)


def test_the_email_field_offers_passkeys_as_autofill(new_page, user):
    page = new_page()  # autofill left on: the virtual authenticator picks the passkey as a person would
    VirtualAuthenticator(page)
    page.goto("/account/login/")
    assert page.evaluate("PublicKeyCredential.isConditionalMediationAvailable()") is True
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")

    # No passkey yet: the pending autofill request leaves the password form alone.
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(PROFILE)
    add_passkey(page)

    page.get_by_role("button", name="Sign out", exact=True).click()  # back on the sign-in page, the autofill answers

    expect(page).to_have_url(PROFILE)
    expect(signed_in_as(page)).to_have_text(user.email)
    expect(page.locator("#sign-in-activity tbody tr").first).to_contain_text("Passkeys and security keys")


def test_a_browser_without_webauthn_is_told_so_and_offered_the_other_methods(page, authenticator, new_page, user):
    signed_up_with_passkey(page, user)
    add_fake_device(user)
    old_browser = new_page(init_script=NO_WEBAUTHN)

    old_browser.goto("/account/login/")
    passkey_sign_in = old_browser.locator("#passkey-sign-in")
    expect(passkey_sign_in.get_by_text("This browser cannot use passkeys or security keys. "
                                       "Sign in with your email and password above.")).to_be_visible()
    expect(old_browser.get_by_role("button", name="Sign in with a passkey")).to_be_disabled()
    expect(old_browser.get_by_label("Email")).to_have_attribute("autocomplete", "username")

    sign_in_page(old_browser, user.email, code=None)  # the password form still works

    expect(old_browser).to_have_url(re.compile(r"/account/login/verify/$"))
    expect(old_browser.locator(".method-name")).to_have_text("Passkeys and security keys")
    expect(old_browser.get_by_text("This browser cannot use passkeys or security keys. "
                                   "Use another method below.")).to_be_visible()
    expect(old_browser.get_by_role("button", name="Use your passkey or security key")).to_be_disabled()
    alternatives = old_browser.locator(".alternatives")
    expect(alternatives.get_by_role("link", name="Use a backup code")).to_be_visible()
    alternatives.get_by_role("link", name="Fake code").click()
    old_browser.get_by_label("Code", exact=True).fill(FAKE_CODE)
    old_browser.get_by_role("button", name="Verify").click()

    expect(old_browser).to_have_url(PROFILE)
    expect(signed_in_as(old_browser)).to_have_text(user.email)


def test_a_refused_prompt_says_so_and_changes_nothing(page, authenticator, user):
    key = signed_up_with_passkey(page, user)
    sign_in_page(page, user.email, code=None)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    events_before = AuditEvent.objects.count()
    authenticator.verify_user(False)

    page.get_by_role("button", name="Use your passkey or security key").click()  # the fingerprint is not accepted

    status = page.locator("[data-webauthn-status]")
    expect(status).to_have_text("The request was cancelled or timed out. Try again.")
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    expect(signed_in_as(page)).to_have_count(0)
    assert AuditEvent.objects.count() == events_before  # nothing was posted
    assert WebAuthnCredential.objects.get(pk=key.pk).sign_count == key.sign_count

    # "Try again": the fingerprint is read this time.
    authenticator.verify_user(True)
    page.get_by_role("button", name="Use your passkey or security key").click()
    expect(page).to_have_url(PROFILE)
    expect(signed_in_as(page)).to_have_text(user.email)


def test_owner_requires_phishing_resistant_methods_and_bob_with_text_messages_must_add_a_passkey(
        new_page, acme):
    from tests.mfa.sms.conftest import enrol_sms
    from tests.mfa.webauthn.conftest import client_with_key
    from tests.webauthn_authenticator import SoftwareAuthenticator

    # The Owner holds a passkey (the policy they set must not lock them out) and signs in with their code.
    client_with_key(acme.owner, SoftwareAuthenticator())
    add_fake_device(acme.owner)
    acme.owner.preferred_mfa_method = "fake"
    acme.owner.save(update_fields=["preferred_mfa_method"])
    enrol_sms(acme.bob)
    owner = new_page(init_script=NO_AUTOFILL)
    sign_in_page(owner, acme.owner.email)

    open_settings_entry(owner, "Parent Settings › Security")
    owner.get_by_label("Require two-factor authentication for all users across subaccounts").check()
    owner.get_by_label("Grace period (days)").fill("0")
    owner.get_by_label("Require phishing-resistant methods (passkeys and security keys only)").check()
    owner.get_by_role("button", name="Save").click()
    # The preview before anything is saved: who must set up what, and the tick for blocking them at once.
    expect(owner.get_by_text(re.compile(r"This will require 3 users to set up a new method: .*"
                                        r"1 uses only Text Messages"))).to_be_visible()
    expect(owner.locator(".impact-row", has_text=acme.bob.email)).to_be_visible()
    owner.get_by_label(re.compile("I understand 3 users will be blocked")).check()
    owner.get_by_role("button", name="Save").click()
    expect(owner.get_by_text("Security settings saved.")).to_be_visible()

    bob = new_page(init_script=NO_AUTOFILL)
    bob_key = VirtualAuthenticator(bob)
    sign_in_page(bob, acme.bob.email, code=None)  # Text Messages no longer counts: no step 2 asks for it

    expect(bob).to_have_url(re.compile(r"/account/two-factor-required/$"))
    expect(bob.locator("#methods-refused")).to_contain_text("Text Messages")
    choices = bob.locator("ul.method-choices li")
    expect(choices).to_have_count(1)
    expect(choices).to_contain_text("Passkeys and security keys")
    bob.goto("/account/profile/")  # nothing else opens until a passkey is set up
    expect(bob).to_have_url(re.compile(r"/account/two-factor-required/$"))
    choices.get_by_role("link", name="Add/Edit").click()
    if bob.get_by_role("heading", name="Confirm it's you").is_visible():
        bob.get_by_label("Password").fill(PASSWORD)
        bob.get_by_role("button", name="Confirm").click()
    bob.get_by_label("Name").fill("Bob's phone")
    bob.get_by_role("button", name="Add a passkey or security key").click()
    expect(bob.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    bob.get_by_label("I have saved these codes").check()
    bob.get_by_role("button", name="Done").click()

    expect(bob).to_have_url(PROFILE)
    expect(bob.locator(PASSKEY_ROW).locator(".in-use-dot")).to_be_visible()
    assert WebAuthnCredential.objects.get(user=acme.bob).name == "Bob's phone"
    assert len(bob_key.credentials()) == 1
