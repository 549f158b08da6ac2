"""The Google Authenticator set-up page as a person sees it: on the same phone, and when replacing."""
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from django.test import Client

from mfa.totp.models import TOTPDevice
from tests.mfa.totp.conftest import reauthenticate_with_totp, sign_in_with_totp

pytestmark = pytest.mark.django_db

SETUP = "/mfa/totp/setup/"
START = "/mfa/totp/start/"


class Elements(HTMLParser):
    """Every element of a page with its attributes and its own text (enough for links and buttons)."""

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[dict] = []
        self._open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.found.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def by_text(self, tag: str, text: str) -> list[dict]:
        return [e for e in self.found if e["tag"] == tag and " ".join(e["text"].split()) == text]

    def by_id(self, element_id: str) -> dict:
        [element] = [e for e in self.found if e["attrs"].get("id") == element_id]
        return element


def start(client) -> tuple[TOTPDevice, Elements]:
    assert client.post(START).status_code == 302
    pending = TOTPDevice.objects.filter(confirmed=False).latest("pk")
    return pending, Elements(client.get(SETUP).content.decode())


def test_setup_open_in_app_link_is_the_otpauth_uri_of_this_key(reauthenticated_client, user):
    pending, page = start(reauthenticated_client)

    [link] = page.by_text("a", "Open in authenticator app")
    href = link["attrs"]["href"]

    parts = urlsplit(href)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == f"/CallTrackingMetrics:{user.email}"
    query = parse_qs(parts.query)
    assert query["secret"] == [pending.secret] and query["issuer"] == ["CallTrackingMetrics"]
    app = pyotp.parse_uri(href)
    assert (app.secret, app.issuer, app.name) == (pending.secret, "CallTrackingMetrics", user.email)
    assert "target" not in link["attrs"]  # the phone hands it to the app; no new tab


def test_setup_open_in_app_link_follows_the_issuer_setting(reauthenticated_client, user, settings):
    settings.MFA_ISSUER = "Acme Calls"
    pending, page = start(reauthenticated_client)

    [link] = page.by_text("a", "Open in authenticator app")

    assert pyotp.parse_uri(link["attrs"]["href"]).issuer == "Acme Calls"


def test_setup_copy_key_button_copies_the_key_without_spaces(reauthenticated_client):
    pending, page = start(reauthenticated_client)

    [button] = page.by_text("button", "Copy key")

    assert button["attrs"]["type"] == "button"
    assert "hidden" in button["attrs"]  # shown by ctm_auth/js/copy.js; without script the key can be selected
    assert page.by_id(button["attrs"]["data-copy-from"])["text"].strip() == pending.secret
    assert page.by_id("totp-key")["text"].replace(" ", "") == pending.secret
    assert any(e["tag"] == "script" and e["attrs"].get("src", "").endswith("ctm_auth/js/copy.js")
               for e in page.found)


def test_first_setup_button_says_verify_and_turn_on(reauthenticated_client):
    _, page = start(reauthenticated_client)

    assert page.by_text("button", "Verify and turn on")
    assert not page.by_text("button", "Verify and replace")


def test_replace_setup_button_says_verify_and_replace(client, user, totp_device, clock):
    assert sign_in_with_totp(client, user, totp_device).status_code == 302
    clock.advance(totp_device.step)
    assert reauthenticate_with_totp(client, totp_device).status_code == 302

    _, page = start(client)

    assert page.by_text("h1", "Replace Google Authenticator")
    assert page.by_text("button", "Verify and replace")
    assert not page.by_text("button", "Verify and turn on")


def test_setup_page_is_not_offered_to_another_browser(user, totp_device):
    """The otpauth link carries the secret: only the signed-in, re-authenticated owner sees it."""
    response = Client().get(SETUP)
    assert response.status_code == 302 and "/account/login/" in response.url
