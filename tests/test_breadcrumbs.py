"""Breadcrumbs: one style everywhere, <nav aria-label="Breadcrumb"><ol>, every crumb a link, the seed's paths."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.agencies.policy_helpers import owner_client
from tests.conftest import add_fake_device, open_after_step_up, reauthenticate, sign_in

pytestmark = pytest.mark.django_db
PROJECT_DIR = Path(__file__).resolve().parent.parent


class Trail(HTMLParser):
    """The page's breadcrumb navs: each a list of (text, href, aria-current) per <li>, and any crumb not a link."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.navs: list[list[tuple[str, str | None, str | None]]] = []
        self.unlinked: list[str] = []
        self._nav = self._li = self._link = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("aria-label") == "Breadcrumb":
            self._nav = []
        elif tag == "li" and self._nav is not None:
            self._li = ""
        elif tag == "a" and self._li is not None:
            self._link = (attrs.get("href"), attrs.get("aria-current"))

    def handle_endtag(self, tag):
        if tag == "li" and self._li is not None:
            href, current = self._link or (None, None)
            if href is None:
                self.unlinked.append(self._li.strip())
            self._nav.append((" ".join(self._li.split()), href, current))
            self._li = self._link = None
        elif tag == "nav" and self._nav is not None:
            self.navs.append(self._nav)
            self._nav = None

    def handle_data(self, data):
        if self._li is not None:
            self._li += data


def trail(client, url: str, *, html: str = "") -> list[tuple[str, str | None, str | None]]:
    html = html or client.get(url).content.decode()
    page = Trail(html)
    assert len(page.navs) == 1 and not page.unlinked, (url, page.navs, page.unlinked)
    assert 'class="breadcrumb"' not in html.replace('<nav class="breadcrumb" aria-label="Breadcrumb">', "")
    return page.navs[0]


def test_profile_trail_is_account_details_then_profile(client, user_with_mfa):
    sign_in(client, user_with_mfa)
    profile = reverse("accounts:profile")

    assert trail(client, profile) == [("Account Details", profile, None), ("Profile", profile, "page")]


@pytest.mark.parametrize("key, label, sub_page", [
    ("totp", "Google Authenticator", None),
    ("sms", "Text Messages", None),
    ("webauthn", "Passkeys and security keys", None),
    ("backup_codes", "Backup Codes", None),
])
def test_method_page_trail_is_the_seed_path(client, user_with_mfa, key, label, sub_page):
    sign_in(client, user_with_mfa)
    reauthenticate(client, user_with_mfa)
    profile, manage = reverse("accounts:profile"), reverse(f"mfa:{key}:manage")

    assert trail(client, manage) == [
        ("Account Details", profile, None), ("Profile", profile, None),
        ("Multi-Factor Methods", f"{profile}#multi-factor-methods", None), (label, manage, "page")]


def test_method_sub_page_trail_ends_on_its_method_as_the_location(client, user):
    sign_in(client, user)
    reauthenticate(client, user)
    assert client.post(reverse("mfa:totp:start")).status_code == 302

    crumbs = trail(client, reverse("mfa:totp:setup"))

    assert crumbs[-1] == ("Google Authenticator", reverse("mfa:totp:manage"), "location")


def test_agency_trails_are_the_seed_paths(acme):
    client = owner_client(acme.owner)
    add_fake_device(acme.alice)
    users = reverse("settings:manage_users", args=[acme.agency.pk])
    edit = reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])
    security = reverse("agencies:security_policy", args=[acme.agency.pk])
    log = reverse("settings:security_log", args=[acme.agency.pk])
    plans = reverse("settings:plans", args=[acme.agency.pk])

    assert trail(client, users) == [("Settings", users, None), ("Manage Users", users, "page")]
    assert trail(client, edit) == [("Settings", users, None), ("Manage Users", users, None), ("Edit", edit, "page")]
    assert trail(client, security) == [("Settings", users, None), ("Parent Settings", security, None),
                                       ("Security", security, "page")]
    assert trail(client, log) == [("Settings", users, None), ("Security Log", log, "page")]
    assert trail(client, plans) == [("Settings", users, None), ("Plans", plans, "page")]
    member_method = reverse("agencies:member_method", args=[acme.agency.pk, acme.alice.pk, "fake"])
    page = open_after_step_up(client, acme.owner, member_method).content.decode()
    assert trail(client, member_method, html=page)[-1] == ("Edit", edit, "location")


def test_templates_have_no_hand_made_breadcrumbs():
    """One partial draws every trail: no template writes its own class="breadcrumb" or "›" crumbs."""
    own = PROJECT_DIR / "templates" / "_breadcrumbs.html"
    hand_made = [
        str(path.relative_to(PROJECT_DIR)) for path in PROJECT_DIR.rglob("*.html")
        if not {".venv", ".bench"} & set(path.parts) and path != own and re.search(r'class="breadcrumb"', path.read_text())
    ]
    assert hand_made == []


def test_anonymous_pages_have_no_breadcrumbs():
    assert Trail(Client().get(reverse("accounts:login")).content.decode()).navs == []
