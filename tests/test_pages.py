"""Pages as a whole: the CSP header and templates that keep it honest, the top
navigation on every signed-in page, and the error pages.

This module is also a small URLconf (``urlpatterns`` below): the project's
URLs plus one view that crashes, for the 500 page.
"""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import include, path, reverse

from agencies import navigation
from tests.conftest import add_fake_device, reauthenticate, sign_in
from tests.urlwalk import walk

PROJECT_DIR = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", ".bench", ".git", "node_modules", "staticfiles", ".pytest_cache"}


# --- A URLconf with a crashing view, for the 500 page -------------------------

def _crashing_view(request):
    raise RuntimeError("internal detail that must stay on the server")


urlpatterns = [path("crash/", _crashing_view), path("", include("ctm_auth.urls"))]
handler400 = "ctm_auth.views.bad_request"
handler403 = "ctm_auth.views.permission_denied"
handler404 = "ctm_auth.views.page_not_found"
handler500 = "ctm_auth.views.server_error"


# --- Helpers -----------------------------------------------------------------

def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        if part.strip():
            name, *sources = part.split()
            directives[name] = sources
    return directives


def assert_strict_csp(response, label: str) -> None:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{label}: no Content-Security-Policy header"
    directives = csp_directives(response)
    assert directives.get("script-src") == ["'self'"], f"{label}: {header}"
    assert directives.get("style-src") == ["'self'"], f"{label}: {header}"
    assert directives.get("object-src") == ["'none'"], f"{label}: {header}"
    assert directives.get("frame-ancestors") == ["'none'"], f"{label}: {header}"
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, f"{label}: {header}"


class PageStructure(HTMLParser):
    """The parts of a page these tests look at: dropdown menus and forms."""

    def __init__(self, html: str):
        super().__init__()
        self.menus: dict[str, list[str]] = {}  # summary text -> link hrefs
        self.forms: list[dict] = []
        self._menu: list[str] | None = None
        self._in_summary = False
        self._summary = ""
        self._form: dict | None = None
        self._in_button = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            self._menu, self._summary = [], ""
        elif tag == "summary":
            self._in_summary = True
        elif tag == "a" and self._menu is not None:
            self._menu.append(attrs.get("href", ""))
        elif tag == "form":
            self._form = {"action": attrs.get("action"), "method": (attrs.get("method") or "get").lower(),
                          "inputs": {}, "buttons": []}
        elif tag == "input" and self._form is not None:
            self._form["inputs"][attrs.get("name")] = attrs.get("value")
        elif tag == "button" and self._form is not None:
            self._in_button = True
            self._form["buttons"].append("")

    def handle_endtag(self, tag):
        if tag == "summary":
            self._in_summary = False
        elif tag == "details" and self._menu is not None:
            self.menus[self._summary.strip()] = self._menu
            self._menu = None
        elif tag == "button":
            self._in_button = False
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def handle_data(self, data):
        if self._in_summary:
            self._summary += data
        if self._in_button and self._form is not None:
            self._form["buttons"][-1] += data.strip()

    def sign_out_forms(self) -> list[dict]:
        logout = reverse("accounts:logout")
        return [
            form for form in self.forms
            if form["action"] == logout and form["method"] == "post"
            and "csrfmiddlewaretoken" in form["inputs"] and "Sign out" in form["buttons"]
        ]


_PARAMETER = re.compile(r"<(?:[^>:]+:)?([^>]+)>")


def concrete_path(url, values: dict) -> str:
    """The walked URL with real ids where the parameter is known, else the walker's dummy path."""
    names = _PARAMETER.findall(url.route)
    if url.name and names and all(name in values for name in names):
        return reverse(url.name, kwargs={name: values[name] for name in names})
    return url.path


def is_html(response) -> bool:
    return response.headers.get("Content-Type", "").startswith("text/html")


@pytest.fixture
def owner_client(client, acme):
    """The Acme Owner with a second factor, signed in and recently re-authenticated.

    With a method in use and step-up done, pages that only exist for such
    users (choosing the default method, sensitive settings) render too.
    """
    add_fake_device(acme.owner)
    assert sign_in(client, acme.owner).status_code == 302
    assert reauthenticate(client, acme.owner).status_code == 302
    return client


# --- Content-Security-Policy ---------------------------------------------------

@pytest.mark.django_db
def test_every_url_sends_strict_csp_anonymous(client):
    responses = 0
    for url in walk():
        response = client.get(url.path)
        assert_strict_csp(response, f"anonymous GET {url.label()} -> {response.status_code}")
        responses += 1

    assert responses >= 10


@pytest.mark.django_db
def test_every_url_sends_strict_csp_signed_in(owner_client, acme):
    values = {"agency_id": acme.agency.pk, "user_id": acme.alice.pk}
    for url in walk():
        if url.name == "accounts:logout":
            continue
        response = owner_client.get(concrete_path(url, values))
        assert_strict_csp(response, f"owner GET {url.label()} -> {response.status_code}")


# --- Templates keep the CSP honest ---------------------------------------------

_DJANGO_TAGS = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.DOTALL)
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<([a-zA-Z][\w:-]*)([^<>]*)>")
_EVENT_HANDLER = re.compile(r"""(?:^|[\s"'/])(on[a-z]+)\s*=""", re.IGNORECASE)
_STYLE_ATTRIBUTE = re.compile(r"""(?:^|[\s"'/])style\s*=""", re.IGNORECASE)


def csp_violations(template_text: str) -> list[str]:
    """Return what the CSP would block in this template: inline script or style of any kind."""
    # Template tags are blanked first, so `<p {% if x %}style="..."{% endif %}>` is still seen.
    text = _DJANGO_TAGS.sub(" ", template_text)
    problems = []
    for match in _SCRIPT.finditer(text):
        if not re.search(r"""(?:^|\s)src\s*=""", match[1], re.IGNORECASE):
            problems.append("inline <script> (no src)")
        if match[2].strip():
            problems.append("inline <script> body")
    if re.search(r"<style\b", text, re.IGNORECASE):
        problems.append("<style> element")
    for tag in _TAG.finditer(text):
        attributes = tag[2]
        for handler in _EVENT_HANDLER.findall(attributes):
            problems.append(f"{handler}= event handler on <{tag[1]}>")
        if _STYLE_ATTRIBUTE.search(attributes):
            problems.append(f"style= attribute on <{tag[1]}>")
        if "javascript:" in attributes.lower():
            problems.append(f"javascript: URL on <{tag[1]}>")
    return problems


def project_templates() -> list[Path]:
    """Every .html under templates/ and under each app's (or method's) templates/ folder."""
    found = []
    for folder in PROJECT_DIR.rglob("templates"):
        if folder.is_dir() and not SKIPPED_DIRS.intersection(folder.relative_to(PROJECT_DIR).parts):
            found.extend(folder.rglob("*.html"))
    return sorted(found)


@pytest.mark.parametrize("snippet, expected", [
    pytest.param('<script src="/static/x.js" defer></script>', [], id="external-script-ok"),
    pytest.param("<script>alert(1)</script>", ["inline <script> (no src)", "inline <script> body"],
                 id="inline-script"),
    pytest.param('<script src="/x.js">alert(1)</script>', ["inline <script> body"], id="script-with-body"),
    pytest.param('<button type="button" onclick="go()">Go</button>', ["onclick= event handler on <button>"],
                 id="onclick"),
    pytest.param("<img src=x ONERROR=go()>", ["ONERROR= event handler on <img>"], id="onerror-uppercase"),
    pytest.param('<p {% if x %}style="color: red"{% endif %}>', ["style= attribute on <p>"],
                 id="style-inside-template-tag"),
    pytest.param("<style>p { color: red }</style>", ["<style> element"], id="style-element"),
    pytest.param('<a href="javascript:go()">x</a>', ["javascript: URL on <a>"], id="javascript-url"),
    pytest.param('<p class="online" data-onload="x">Turn on = off</p>', [], id="lookalikes-ok"),
    pytest.param("{% with one=1 %}{{ one }}{% endwith %}", [], id="template-tag-arguments-ok"),
])
def test_csp_violations_scanner_finds_inline_code(snippet, expected):
    """The scanner itself: it must catch what the CSP blocks and pass what it allows."""
    assert csp_violations(snippet) == expected


def test_templates_have_no_inline_script_handler_or_style():
    templates = project_templates()
    violations = {
        str(template.relative_to(PROJECT_DIR)): problems
        for template in templates
        if (problems := csp_violations(template.read_text(encoding="utf-8")))
    }

    assert PROJECT_DIR / "templates" / "base.html" in templates
    assert any("accounts/templates" in str(t) for t in templates)
    assert violations == {}, (
        "The CSP (script-src 'self'; style-src 'self') blocks these. Move JavaScript to a static "
        "file loaded with <script src defer> and styles to static CSS."
    )


# --- Top navigation on every signed-in page ------------------------------------

CORE_SIGNED_IN_PAGES = {"accounts:profile", "accounts:password_change", "accounts:reauthenticate",
                        "mfa:default_method"}


@pytest.mark.django_db
def test_every_signed_in_page_has_account_details_and_sign_out(owner_client, acme):
    profile = reverse("accounts:profile")
    values = {"agency_id": acme.agency.pk, "user_id": acme.alice.pk, "method_key": "fake"}
    checked = set()
    for url in walk():
        if "admin" in url.namespaces or url.name == "accounts:logout":
            continue
        response = owner_client.get(concrete_path(url, values))
        if response.status_code in (301, 302) or not is_html(response) or not response.content.strip():
            continue  # a redirect, a download, or an empty 405 for GET on a POST-only view
        page = PageStructure(response.content.decode())
        assert profile in page.menus.get("Account Details", []), f"{url.label()}: no Account Details › Profile"
        assert len(page.sign_out_forms()) == 1, f"{url.label()}: no sign-out button"
        checked.add(url.name)

    assert CORE_SIGNED_IN_PAGES <= checked, checked
    assert owner_client.get(profile).status_code == 200  # the walk did not sign the owner out


@pytest.mark.django_db
def test_sign_in_step_two_offers_sign_out_but_no_menus(client, user_with_mfa):
    sign_in(client, user_with_mfa, code=None)

    response = client.get(reverse("accounts:login_verify"))

    page = PageStructure(response.content.decode())
    assert response.status_code == 200
    assert len(page.sign_out_forms()) == 1
    assert page.menus == {}


@pytest.mark.django_db
def test_sign_in_page_has_no_menus_and_no_sign_out(client):
    page = PageStructure(client.get(reverse("accounts:login")).content.decode())

    assert page.menus == {}
    assert page.sign_out_forms() == []


# --- The Settings menu -----------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("member", ["alice", "bob"])
def test_settings_menu_hidden_for_plain_user(client, acme, member):
    sign_in(client, getattr(acme, member))

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 200
    assert response.context["settings_menu"] == []
    assert "Settings" not in PageStructure(response.content.decode()).menus


@pytest.mark.django_db
@pytest.mark.parametrize("member", ["owner", "admin"])
def test_settings_menu_entries_all_open_for_owner_and_admin(client, acme, member):
    """The menu shows exactly its entries, and every entry's page opens (200) for its viewer."""
    manager = getattr(acme, member)
    sign_in(client, manager)
    reauthenticate(client, manager)

    response = client.get(reverse("accounts:profile"))

    entries = response.context["settings_menu"]
    menus = PageStructure(response.content.decode()).menus
    if entries:
        assert menus["Settings"] == [entry.url for entry in entries]
    else:
        assert "Settings" not in menus  # no entries yet: no menu at all
    for entry in entries:
        assert client.get(entry.url).status_code == 200, entry


@pytest.mark.django_db
def test_settings_menu_hidden_when_it_has_no_entries(client, acme, monkeypatch):
    """Show no entry that leads nowhere: with nothing to offer, not even the menu."""
    monkeypatch.setattr(navigation, "SETTINGS_ENTRIES", [])
    sign_in(client, acme.owner)

    response = client.get(reverse("accounts:profile"))

    assert response.context["settings_menu"] == []
    assert "Settings" not in PageStructure(response.content.decode()).menus
    assert "<summary>Settings</summary>" not in response.content.decode()


# --- Error pages -------------------------------------------------------------------

TECHNICAL_PAGE_MARKERS = ("Traceback", "Using the URLconf", "Django settings", "technical_", "RuntimeError",
                          "internal detail")


def assert_project_error_page(response, status: int, title: str) -> None:
    html = response.content.decode()
    assert response.status_code == status
    assert [t.name for t in response.templates][:1] == ["errors/error.html"]
    assert f"<h1>{title}</h1>" in html
    for marker in TECHNICAL_PAGE_MARKERS:
        assert marker not in html, marker
    assert_strict_csp(response, f"{status} page")


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_unknown_url_renders_project_404_page(client):
    response = client.get("/no-such-page/")

    assert_project_error_page(response, 404, "Page not found")


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_foreign_agency_page_renders_project_404_page(client, acme, solo):
    """An actor from another agency gets the plain 404, never a 403."""
    sign_in(client, acme.owner)

    response = client.get(reverse("settings:manage_users", kwargs={"agency_id": solo.agency.pk}))

    assert_project_error_page(response, 404, "Page not found")
    assert "Solo Shop" not in response.content.decode()


@pytest.mark.django_db
@override_settings(DEBUG=False, ROOT_URLCONF="tests.test_pages")
def test_crashing_view_renders_project_500_page_without_details():
    client = Client(raise_request_exception=False)

    response = client.get("/crash/")

    assert_project_error_page(response, 500, "Something went wrong")


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_disallowed_host_renders_project_400_page(client):
    response = client.get(reverse("accounts:login"), HTTP_HOST="attacker.example")

    assert_project_error_page(response, 400, "Bad request")


@pytest.mark.django_db
def test_post_without_csrf_token_says_form_expired(user, password):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("accounts:login"), {"email": user.email, "password": password})

    assert_project_error_page(response, 403, "Your form expired")
    assert "reload the page and try again" in response.content.decode()
    assert "_auth_user_id" not in client.session  # and nobody was signed in


# --- Accessible names and descriptions point at something -----------------------

_ID_REFERENCE = re.compile(r"""\s(aria-describedby|aria-labelledby|aria-controls|for)="([^"]*)\"""")
_ID = re.compile(r"""\sid="([^"]+)\"""")


def dangling_id_references(html: str) -> list[str]:
    """Return each aria-describedby / aria-labelledby / aria-controls / label for= id the page lacks."""
    ids = set(_ID.findall(html))
    return [f'{attribute}="{value}" -> #{reference}' for attribute, value in _ID_REFERENCE.findall(html)
            for reference in value.split() if reference not in ids]


def test_dangling_id_references_are_found():
    assert dangling_id_references('<input aria-describedby="id_x_helptext"><small id="id_x_help">') == [
        'aria-describedby="id_x_helptext" -> #id_x_helptext']
    assert dangling_id_references('<label for="a">A</label><input id="a">') == []


@pytest.mark.django_db
def test_every_page_describes_its_fields_with_ids_it_has(client, owner_client, acme):
    """A screen reader reads a field's help and errors through these ids; a missing one reads nothing."""
    values = {"agency_id": acme.agency.pk, "user_id": acme.alice.pk}
    pages = 0
    for url in walk():
        if url.name == "accounts:logout":
            continue
        for who, browser in (("anonymous", client), ("owner", owner_client)):
            response = browser.get(concrete_path(url, values))
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            assert dangling_id_references(response.content.decode()) == [], f"{who} GET {url.label()}"
            pages += 1

    assert pages >= 20
