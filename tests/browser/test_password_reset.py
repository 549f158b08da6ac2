"""Forgot password in a real browser: the link from the email, then a sign-in that still asks for the code."""
import re

from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import sign_in_page
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device

NEW_PASSWORD = "plover quartz umbrella 93"
LINK_RE = re.compile(r"https?://[^/\s]+(/account/password/reset/[^/\s]+/[^/\s]+/)")


def test_forgot_password_through_the_email_then_sign_in_asks_for_the_code(page, user):
    add_fake_device(user)
    page.goto("/account/login/")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill(user.email)
    page.get_by_role("button", name="Email me a link").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    page.goto(LINK_RE.search(mail.outbox[0].body)[1])

    expect(page).to_have_url(re.compile(r"/account/password/reset/$"))  # the token left the address bar
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("autocomplete", "new-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()

    expect(page).to_have_url(re.compile(r"/account/login/$"))
    expect(page.get_by_text("Your password was reset. Sign in with your new password.")).to_be_visible()
    assert mail.outbox[-1].subject == "Your CallTrackingMetrics password was reset"
    sign_in_page(page, user.email, password=PASSWORD, code=None)
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    sign_in_page(page, user.email, password=NEW_PASSWORD, code=None)
    expect(page).to_have_url(re.compile(r"/account/login/verify/$"))
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/profile/$"))


def test_used_reset_link_shows_it_is_not_valid(page, user):
    page.goto("/account/password/forgot/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    link = LINK_RE.search(mail.outbox[0].body)[1]
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(re.compile(r"/account/login/$"))

    page.goto(link)

    expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
    page.get_by_role("link", name="Ask for a new link").click()
    expect(page).to_have_url(re.compile(r"/account/password/forgot/$"))
