"""Remember this browser in a real browser: tick the box, sign out, sign in again with no step 2."""
import re

from playwright.sync_api import expect

from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device, let_step_up_window_pass


def sign_in_with_password(page, email: str) -> None:
    page.goto("/account/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():  # the POST's answer, not the sign-in page still loaded (browser/conftest.py)
        page.get_by_role("button", name="Sign in", exact=True).click()


def test_remember_this_browser_skips_step_two_next_time(page, user):
    add_fake_device(user)
    sign_in_with_password(page, user.email)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_label("Don't ask for a code on this browser for 30 days").check()
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    trusted = page.locator("#trusted-browsers")
    expect(trusted).to_contain_text("Chrome (headless) on Linux")
    expect(trusted).to_contain_text("(this browser)")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["ctm_trusted_browser"]["httpOnly"] and cookies["ctm_trusted_browser"]["sameSite"] == "Lax"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    sign_in_with_password(page, user.email)

    expect(page).to_have_url(re.compile(r"/account/profile/$"))  # no step 2
    expect(page.locator("#sign-in-activity")).to_contain_text("Trusted browser")


def test_revoked_browser_asks_for_the_code_again(page, user):
    add_fake_device(user)
    sign_in_with_password(page, user.email)
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_label("Don't ask for a code on this browser for 30 days").check()
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))
    let_step_up_window_pass()  # the sign-in with a code counts as a step-up for 10 minutes

    page.locator("#trusted-browsers").get_by_role("button", name="Revoke all").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Revoke all trusted browsers?")).to_be_visible()
    page.get_by_role("button", name="Revoke all").click()
    expect(page.get_by_text("1 browser was revoked")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, user.email)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
