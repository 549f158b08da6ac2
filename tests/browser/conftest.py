"""Playwright driving Debian's chromium against pytest-django's live server.

`playwright install` cannot download browsers here, so we launch the
system chromium. Playwright's sync API runs an event loop in this thread;
Django's ORM refuses to run beside one unless told it is safe, which it is
here because the test thread and the loop never share a query.
"""
import os
import threading
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


class InFlightRequests:
    """Counts the live server's requests still being answered, so a test's end can wait for them.

    On SQLite the live server's threads share the test's one in-memory
    connection. A request still running when the test ends (a click whose
    answer nobody waited for) would run inside the database flush between
    tests, and its rollback could bring the flushed rows back.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def __call__(self, environ, start_response):
        with self.idle:
            self.count += 1
        try:
            response = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _CallOnClose(response, self._done)

    def _done(self) -> None:
        with self.idle:
            self.count -= 1
            self.idle.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.count == 0, timeout=timeout)


class _CallOnClose:
    """A WSGI response that calls ``on_close`` once the server has closed it (sent, or the client left)."""

    def __init__(self, response, on_close) -> None:
        self.response, self.on_close = response, on_close

    def __iter__(self):
        return iter(self.response)

    def close(self) -> None:
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            self.on_close()


@pytest.fixture(scope="session")
def _live_server_requests(live_server) -> InFlightRequests:
    """Wrap the live server's application once (its handler threads ask the server for it per request)."""
    server = live_server.thread.httpd
    counted = InFlightRequests(server.get_app())
    server.set_app(counted)
    return counted


@pytest.fixture(autouse=True)
def _answered_before_the_flush(request):
    """After a live-server test, wait until every request it sent was answered, then let the flush run.

    It takes the database fixture first, so its teardown runs before the
    flush; the browser contexts, set up after it, are closed before it waits.
    """
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    in_flight = request.getfixturevalue("_live_server_requests")
    yield
    if not in_flight.wait_until_idle(timeout=30):
        pytest.fail("the live server was still answering this test's requests 30 s after it ended")


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
    # Wait for the page the POST answers with: wait_for_load_state() alone could return on the sign-in page
    # itself, still loaded, and a goto() right after then cancelled the answer and its session cookie.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if "/account/login/verify/" in page.url and code is not None:
        page.get_by_label("Code", exact=True).fill(code)
        with page.expect_navigation():
            page.get_by_role("button", name="Verify").click()
