"""The README's screenshots: four pages at a desktop and a phone width.

``take_screenshots`` builds demo-like data through the product's flows (the
test factories' way), signs in through the browser as a person would and
saves ``<page>-<width>.png`` in ``out_dir``. tests/browser/test_screenshots.py
runs it into a temporary folder on every browser run, so the script cannot
rot; ``make screenshots`` runs that test with SCREENSHOTS_DIR=docs/screenshots
to refresh the committed images.
"""
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.test import override_settings
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from agencies.flows import add_member, add_subaccount, create_agency
from agencies.models import Agency, Role
from tests.browser.conftest import sign_in_page
from tests.conftest import PASSWORD, ensure_plans
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.sms.conftest import enrol_sms
from tests.mfa.totp.conftest import code_for, enrol

#: Viewport width -> height: a laptop, and a phone (iPhone 12 to 15).
WIDTHS = {1280: 800, 390: 844}
PAGES = ("profile", "google-authenticator", "manage-users", "security")


@dataclass(frozen=True)
class Demo:
    agency: Agency
    owner: User  # Google Authenticator and Backup Codes on
    newcomer: User  # no two-factor yet: the one who sets up Google Authenticator


def build_demo() -> Demo:
    """Acme Agency as `make run` seeds it: an Owner with two-factor, an Administrator, two Users."""
    ensure_plans()
    owner = User.objects.create_user("owner@acme.test", PASSWORD, name="Olivia Owner")
    agency = create_agency(name="Acme Agency", plan_code="growth", owner=owner)
    dental = add_subaccount(agency=agency, name="Acme Dental")
    plumbing = add_subaccount(agency=agency, name="Acme Plumbing")
    admin = User.objects.create_user("admin@acme.test", PASSWORD, name="Adam Admin")
    alice = User.objects.create_user("alice@acme.test", PASSWORD, name="Alice Example")
    bob = User.objects.create_user("bob@acme.test", PASSWORD, name="Bob Example")
    add_member(agency=agency, user=admin, role=Role.ADMIN, subaccounts=[dental, plumbing])
    add_member(agency=agency, user=alice, role=Role.USER, subaccounts=[dental])
    add_member(agency=agency, user=bob, role=Role.USER, subaccounts=[plumbing])
    enrol_sms(admin)
    set_up_codes(admin)
    return Demo(agency=agency, owner=owner, newcomer=alice)


def take_screenshots(browser: Browser, base_url: str, out_dir: Path) -> list[Path]:
    """Save the Profile, the Google Authenticator set-up, Manage Users and Security at each width."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The test-only "Fake code" method would show on every page: the product's methods only.
    product_methods = [path for path in settings.MFA_METHODS if not path.startswith("tests.")]
    with override_settings(MFA_METHODS=product_methods):
        demo = build_demo()
        device = enrol(demo.owner)
        set_up_codes(demo.owner)
        saved = _owner_pages(browser, base_url, out_dir, demo, code_for(device))
        saved += _set_up_page(browser, base_url, out_dir, demo)
    return saved


def _owner_pages(browser: Browser, base_url: str, out_dir: Path, demo: Demo, code: str) -> list[Path]:
    page = _new_page(browser, base_url)
    sign_in_page(page, demo.owner.email, code=code)  # the sign-in counts as the step-up these pages ask
    pages = {
        "profile": "/account/profile/",
        "manage-users": f"/settings/{demo.agency.pk}/users/",
        "security": f"/settings/{demo.agency.pk}/security/",
    }
    saved = []
    for name, url in pages.items():
        page.goto(url)
        expect(page.locator("main")).to_be_visible()
        assert page.url.endswith(url), f"{name}: ended on {page.url}"
        saved += _at_each_width(page, out_dir, name)
    page.context.close()
    return saved


def _set_up_page(browser: Browser, base_url: str, out_dir: Path, demo: Demo) -> list[Path]:
    page = _new_page(browser, base_url)
    sign_in_page(page, demo.newcomer.email, code=None)
    page.goto("/mfa/totp/")
    page.get_by_role("button", name="Set up Google Authenticator").click()
    expect(page.get_by_role("heading", name="Set up Google Authenticator")).to_be_visible()
    saved = _at_each_width(page, out_dir, "google-authenticator")
    page.context.close()
    return saved


def _new_page(browser: Browser, base_url: str) -> Page:
    width, height = next(iter(WIDTHS.items()))
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height},
                                  reduced_motion="reduce")
    context.set_default_timeout(10_000)
    return context.new_page()


def _at_each_width(page: Page, out_dir: Path, name: str) -> list[Path]:
    """Resize rather than reload: the page (a QR code's secret, a sign-in) stays the same one."""
    saved = []
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        path = out_dir / f"{name}-{width}.png"
        # The whole height, so nothing below the fold is left out, but the
        # viewport's width: what the screen shows (a page wider than a phone
        # would scroll sideways there). Caret and animations hidden, so
        # reruns differ only where the page does.
        full_height = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide",
                        clip={"x": 0, "y": 0, "width": width, "height": max(height, full_height)})
        saved.append(path)
    return saved
