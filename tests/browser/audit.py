"""Accessibility and narrow-screen audit of every page the browser tests open.

Each browser context a test opens records the HTML documents the server
sends it (`DocumentRecorder`, a HAR file). After the test, `Auditor` renders
each page state not audited before in a page of its own on the same origin
(the saved HTML, the live server's CSS and JS) at a laptop's and a phone's
width, with its menus open, runs axe-core (tests/browser/vendor, MPL-2.0) and
measures what a person would notice on a phone: a page that scrolls
sideways, a table column hidden to make it fit.

Auditing the server's answer, rather than the live DOM at some moment, keeps
the audit deterministic: it does not depend on when the test looked. What
scripts change afterwards in the tests' own pages is not audited.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Route

AXE_SOURCE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()
VIEWPORTS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})  # a laptop, a phone

# Everything but static files: the HAR records no CSS or JS, and the audit
# page loads those from the live server itself.
NOT_STATIC = re.compile(r"^(?!https?://[^/]+/static/)")

# What varies between two renderings of the same page state: tokens, codes,
# QR images, numbers (ids, dates, counts) and email addresses.
VOLATILE = [
    re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+"),
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    re.compile(r"[A-Za-z0-9+/=_-]{16,}"),
    re.compile(r"\d+"),
]

# Menus and other <details> are opened first: their content is a state a
# person sees (and axe skips what is hidden).
AUDIT_SCRIPT = """async () => {
  document.querySelectorAll('details').forEach(details => { details.open = true; });
  const result = await axe.run(document, {resultTypes: ['violations']});
  const shown = (el) => !el.closest('[hidden]');
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const hiddenCells = [...document.querySelectorAll('th, td')]
    .filter(cell => shown(cell) && getComputedStyle(cell).display === 'none'
            && cell.textContent.trim() !== '')
    .map(cell => describe(cell) + ' "' + cell.textContent.trim().slice(0, 40) + '"');
  const sidewaysBoxes = [...document.querySelectorAll('body *')]
    .filter(el => !['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && shown(el) && el.clientWidth > 1
            && ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX)
            && el.scrollWidth > el.clientWidth + 1)
    .map(describe);
  return {
    violations: result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map(n => n.target.join(' ')),
    })),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    href: location.href,
    hiddenCells,
    sidewaysBoxes,
  };
}"""


@dataclass(frozen=True)
class Document:
    url: str
    status: int
    headers: dict[str, str]
    body: str

    @classmethod
    def from_har(cls, entry: dict) -> Document | None:
        """Return the page a HAR entry holds, or None for redirects, fetches and non-HTML."""
        request, response = entry["request"], entry["response"]
        request_headers = {h["name"].lower(): h["value"] for h in request["headers"]}
        content = response["content"]
        if (request_headers.get("sec-fetch-dest") != "document" or 300 <= response["status"] < 400
                or not content.get("mimeType", "").startswith("text/html")):
            return None
        body = content.get("text", "")
        if content.get("encoding") == "base64":
            body = base64.b64decode(body).decode()
        if "</html>" not in body:
            return None  # the test moved on before it arrived: no one saw this page
        headers = {h["name"].lower(): h["value"] for h in response["headers"]}
        return cls(request["url"], response["status"], headers, body)

    def fingerprint(self) -> str:
        """Hash the HTML with what differs between renderings of one state made alike."""
        text = self.body
        for pattern in VOLATILE:
            text = pattern.sub("_", text)
        return hashlib.sha256(text.encode()).hexdigest()


class DocumentRecorder:
    """Record (as a HAR file) what the server sends each browser context, and read the HTML documents back.

    Playwright's own HAR recorder keeps every response, redirect hops
    included, without intercepting a request; the file is written when the
    context closes.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.contexts: list[tuple[BrowserContext, Path]] = []

    def options(self) -> dict:
        """Return the browser.new_context options that record one more context."""
        path = self.folder / f"context-{len(self.contexts)}.har"
        return {"record_har_path": path, "record_har_content": "embed", "record_har_url_filter": NOT_STATIC}

    def add(self, context: BrowserContext, options: dict) -> None:
        self.contexts.append((context, options["record_har_path"]))

    def documents(self) -> list[Document]:
        """Close the contexts still open (a HAR is written on close); return their HTML documents in order."""
        found = []
        for context, path in self.contexts:
            context.close()
            found += [document for entry in json.loads(path.read_text())["log"]["entries"]
                      if (document := Document.from_har(entry))]
        return found


class Auditor:
    """Render recorded documents once each, at each width, and list what is wrong with them."""

    def __init__(self, browser: Browser, claims: Path) -> None:
        self.context = browser.new_context(viewport=VIEWPORTS[0])
        self.context.set_default_timeout(10_000)
        self.context.add_init_script(AXE_SOURCE)
        self.page = self.context.new_page()
        self.page.route(NOT_STATIC, self._serve)
        self.claims = claims
        self.audited = 0
        self._current: Document | None = None

    def close(self) -> None:
        self.context.close()

    def _serve(self, route: Route) -> None:
        """Answer the one document under audit; nothing else may reach the server from here."""
        document = self._current
        if route.request.resource_type == "document" and (document is None or route.request.url != document.url):
            route.fulfill(status=204)  # a script's navigation: the browser stays on the page under audit
            return
        if document is None or route.request.url != document.url:
            route.abort()
            return
        keep = ("content-type", "content-security-policy", "content-language")
        headers = {name: value for name, value in document.headers.items() if name in keep}
        route.fulfill(status=document.status, headers=headers, body=document.body)

    def problems(self, documents: list[Document]) -> list[str]:
        """Return one line per problem in the documents not audited before."""
        found: list[str] = []
        for document in documents:
            if not self._claim(document.fingerprint()):
                continue
            self.audited += 1
            found += self._audit(document)
        return found

    def _claim(self, fingerprint: str) -> bool:
        """Whether this process audits the page state: the first to claim it (xdist workers share claims)."""
        try:
            os.close(os.open(self.claims / fingerprint, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _audit(self, document: Document) -> list[str]:
        self._current = document
        try:
            self.page.set_viewport_size(VIEWPORTS[0])
            self.page.goto(document.url, wait_until="load")
            found = []
            for viewport in VIEWPORTS:
                self.page.set_viewport_size(viewport)
                found += self._report(document.url, viewport["width"], self.page.evaluate(AUDIT_SCRIPT))
            return found
        finally:
            self._current = None

    @staticmethod
    def _report(url: str, width: int, result: dict) -> list[str]:
        where = f"{url} at {width}px"
        if result["href"] != url:
            return [f"{where}: the page went to {result['href']} during the audit"]
        lines = [f"{where}: axe {v['id']} ({v['impact']}): {v['help']} -> {', '.join(v['targets'][:6])}"
                 for v in result["violations"]]
        if result["scrollWidth"] > result["innerWidth"]:
            lines.append(f"{where}: scrolls sideways ({result['scrollWidth']}px wide in {result['innerWidth']}px)")
        lines += [f"{where}: hidden table cell {cell}" for cell in result["hiddenCells"]]
        lines += [f"{where}: content wider than its box {box}" for box in result["sidewaysBoxes"]]
        return lines
