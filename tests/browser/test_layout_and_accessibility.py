"""What a phone user and a keyboard or screen-reader user see (issue 13).

Every page these tests open is also audited by tests/browser/audit.py
(axe-core, sideways scroll, hidden columns at 390 px); the tests here check
what that audit cannot: that the wide tables still show every column's data
on a phone, and that the keyboard paths work.
"""
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import sign_in_page
from tests.browser.test_agency_admin import open_settings_entry
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device
from tests.mfa.totp.conftest import enrol

PHONE = {"width": 390, "height": 844}


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]}px wide on a {width[1]}px screen"


def assert_every_cell_on_screen(row: Locator) -> None:
    """Each cell with data is shown, inside the screen's width, under its column's name."""
    cells = row.locator("td")
    assert cells.count() > 0
    for cell in cells.all():
        if not cell.inner_text().strip():
            continue
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (cell.inner_text(), box)
        label = cell.get_attribute("data-label")
        if label is not None:  # the column's name, shown before the value (CSS ::before)
            shown = cell.evaluate("cell => getComputedStyle(cell, '::before').content")
            assert shown == f'"{label}"', (label, shown)


def test_manage_users_on_a_phone_shows_every_column(page, acme):
    enrol(acme.alice)
    add_fake_device(acme.admin)
    page.set_viewport_size(PHONE)
    sign_in_page(page, acme.admin.email)
    open_settings_entry(page, "Manage Users")

    alice = page.locator('tr.member-row[data-email="alice@acme.test"]')
    expect(alice).to_contain_text("Alice Example")
    two_factor = alice.locator("td.two-factor")
    expect(two_factor).to_be_visible()  # hidden on phones before issue 13
    expect(two_factor).to_have_text("Google Authenticator")
    expect(two_factor.get_by_role("img", name="In use")).to_be_visible()
    expect(page.locator('tr.member-row[data-email="bob@acme.test"] td.two-factor')).to_have_text("Not enabled")
    for row in page.locator("tr.member-row").all():
        assert_every_cell_on_screen(row)
    assert_no_sideways_scroll(page)


def test_security_log_on_a_phone_shows_every_column(page, acme):
    add_fake_device(acme.admin)
    page.set_viewport_size(PHONE)
    sign_in_page(page, acme.admin.email)
    open_settings_entry(page, "Security Log")

    expect(page.get_by_role("heading", name="Security Log")).to_be_visible()
    rows = page.locator("tr.log-row")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text="admin@acme.test").first.locator('td[data-label="Account"]')).to_be_visible()
    for row in rows.all():
        assert_every_cell_on_screen(row)
    assert_no_sideways_scroll(page)


def test_profile_sign_in_activity_on_a_phone_shows_every_column(page, browser, live_server, user):
    add_fake_device(user)
    other = browser.new_context(base_url=live_server.url)  # a second session, to sign out from here
    sign_in_page(other.new_page(), user.email)
    page.goto("/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Code", exact=True).fill(FAKE_CODE)
    page.get_by_label("Don't ask for a code on this browser for 30 days").check()
    page.get_by_role("button", name="Verify").click()
    page.set_viewport_size(PHONE)
    page.reload()

    sessions = page.locator("#active-sessions tr.session-row")
    expect(sessions).to_have_count(2)
    expect(sessions.filter(has_text="(this session)").locator('td[data-label="IP address"]')).to_have_text("127.0.0.1")
    expect(page.locator("#active-sessions").get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    trusted = page.locator("#trusted-browsers tr.trusted-browser-row")
    expect(trusted).to_have_count(1)
    expect(trusted.locator('td[data-label="Last used"]')).to_have_text("Not yet")
    expect(trusted.get_by_role("button", name="Revoke")).to_be_visible()
    activity = page.locator("#sign-in-activity tbody tr")
    expect(activity.first.locator('td[data-label="Result"]')).to_have_text("Success")
    for row in [*sessions.all(), *trusted.all(), *activity.all()]:
        assert_every_cell_on_screen(row)
    assert_no_sideways_scroll(page)


def test_skip_link_moves_focus_to_the_page_content(page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()  # out of sight until a keyboard reaches it
    page.keyboard.press("Tab")  # the first stop on the page
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is the content's first link, past the top bar's
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb.get_by_role("link", name="Account Details")).to_be_focused()


def test_escape_closes_the_settings_menu(page, acme):
    add_fake_device(acme.admin)
    sign_in_page(page, acme.admin.email)
    settings = page.locator("details.menu", has_text="Settings")
    settings.locator("summary").click()
    expect(settings.get_by_role("link", name="Manage Users")).to_be_visible()

    page.keyboard.press("Escape")
    expect(settings.get_by_role("link", name="Manage Users")).to_be_hidden()
    expect(settings.locator("summary")).to_be_focused()  # focus goes back to the menu's button


def test_a_flash_message_is_announced_as_status(page, user):
    add_fake_device(user)
    sign_in_page(page, user.email)
    page.get_by_role("button", name="Sign out").click()

    status = page.get_by_role("status").filter(has_text="You have signed out.")
    expect(status).to_be_visible()
    expect(status.get_by_role("listitem")).to_have_count(0)  # a live region, not a list
    expect(status.get_by_role("list")).to_have_count(0)
