"""Playwright driving Debian's chromium against pytest-django's live server.

`playwright install` cannot download browsers here, so we launch the
system chromium. Playwright's sync API runs an event loop in this thread;
Django's ORM refuses to run beside one unless told it is safe, which it is
here because the test thread and the loop never share a query.
"""
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.audit import Auditor, DocumentRecorder
from tests.conftest import FAKE_CODE, PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


BROWSER_TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Mark the tests of this folder (the hook sees every collected test)."""
    for item in items:
        if BROWSER_TESTS_DIR in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def _orm_beside_playwright_loop():
    """Allow the ORM beside Playwright's loop from the first browser test on (see above)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_orm_beside_playwright_loop):
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def auditor(browser, tmp_path_factory, worker_id):
    """One audit page per process; page states are claimed once per run, across xdist workers."""
    run_dir = tmp_path_factory.getbasetemp()
    claims = (run_dir.parent if worker_id != "master" else run_dir) / "audited-pages"
    claims.mkdir(exist_ok=True)
    auditor = Auditor(browser, claims)
    yield auditor
    auditor.close()


@pytest.fixture(autouse=True)
def audit_pages(browser, auditor, monkeypatch, tmp_path):
    """Audit every HTML page this test's browser contexts received (see tests/browser/audit.py).

    Every context the test opens, through `page` or a fixture of its own,
    comes from browser.new_context, so recording starts there.
    """
    recorder = DocumentRecorder(tmp_path)
    new_context = browser.new_context

    def recorded_context(**options):
        options |= recorder.options()
        context = new_context(**options)
        recorder.add(context, options)
        return context

    monkeypatch.setattr(browser, "new_context", recorded_context)
    yield
    monkeypatch.undo()
    problems = auditor.problems(recorder.documents())
    if problems:
        pytest.fail("Accessibility / narrow-screen audit:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(browser, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in_page(page: Page, email: str, *, password: str = PASSWORD, code: str | None = FAKE_CODE) -> None:
    """Sign in through the browser, answering step 2 when it appears."""
    page.goto("/account/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    if "/account/login/verify/" in page.url and code is not None:
        page.get_by_label("Code", exact=True).fill(code)
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state()
