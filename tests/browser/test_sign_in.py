"""The sign-in pages in a real browser, as a person (or a password manager) uses them."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_page
from tests.conftest import add_fake_device


def test_sign_in_with_second_factor_and_sign_out(page, user):
    add_fake_device(user)
    page.goto("/account/login/")
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")  # the passkey autofill
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")
    page.get_by_label("Email").fill("USER@example.test")
    page.get_by_label("Password").fill("correct horse battery staple 42")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    code = page.get_by_label("Code", exact=True)
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("inputmode", "numeric")
    # Half signed in: every other page sends us back to step 2.
    page.goto("/account/profile/")
    assert page.url.endswith("/account/login/verify/")
    page.get_by_label("Code", exact=True).fill("424242")
    page.get_by_role("button", name="Verify").click()

    assert page.url.endswith("/account/profile/")
    expect(page.get_by_role("heading", name="Multi-Factor Methods")).to_be_visible()
    expect(page.locator("#sign-in-activity")).to_contain_text("Success")
    page.get_by_role("button", name="Sign out").click()
    assert "/account/login/" in page.url
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto("/account/profile/")
    assert "/account/login/" in page.url


def test_a_password_sent_before_the_passkey_autofill_is_ready_keeps_its_sign_in(page, user):
    """A password manager may submit the moment the page loads, while the autofill's options are on their way.

    Their answer sets a session cookie too: had it come after the password's,
    it replaced the half-done sign-in's, and step 2 said "Sign-in expired".
    The form waits for that answer, then goes with its cookie.
    """
    add_fake_device(user)
    held, order = [], []
    page.route("**/account/login/with/*/options/", lambda route: held.append(route))
    page.on("response", lambda response: order.append("options answered") if "/options/" in response.url else None)
    page.on("request", lambda request: order.append("password sent")
            if request.method == "POST" and request.url.endswith("/account/login/") else None)
    with page.expect_request("**/account/login/with/*/options/"):
        page.goto("/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery staple 42")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign in", exact=True).click()  # impatient: the form still goes once

    held[0].continue_()  # the options' answer comes in only now

    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    assert order == ["options answered", "password sent"]
    page.get_by_label("Code", exact=True).fill("424242")
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))


def test_wrong_password_shows_one_clear_message(page, user):
    sign_in_page(page, user.email, password="not the password at all")
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    assert page.url.endswith("/account/login/")


def test_signed_out_visitor_switches_the_sign_in_page_to_spanish_and_signs_in(page, user):
    add_fake_device(user)
    page.goto("/account/login/")
    page.get_by_label("Language").select_option(label="Español")
    page.get_by_role("button", name="Change language").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("button", name="Iniciar sesión", exact=True)).to_be_visible()
    expect(page.get_by_label("Idioma")).to_have_value("es")
    assert page.url.endswith("/account/login/")  # back where the visitor was
