""""Set up two-factor authentication" (the page a required policy sends a user to): what it recommends."""
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from agencies import flows
from tests.agencies.policy_helpers import give_methods
from tests.conftest import add_fake_device, sign_in

pytestmark = pytest.mark.django_db

PAGE = reverse("accounts:two_factor_required")


def require(acme, allowed: list[str]) -> None:
    """Acme's Owner requires two-factor at once, with only ``allowed`` methods ([]: any)."""
    flows.set_security_policy(None, actor=acme.owner, agency=acme.agency,
                              policy=flows.SecurityPolicy(required=True, grace_days=0, allowed_methods=allowed),
                              confirmed=True, acknowledged=True)


def choices(acme) -> dict[str, str]:
    """Bob's set-up page: each offered method's line (its HTML), by method key."""
    client = Client()
    sign_in(client, acme.bob, code=None)
    html = client.get(PAGE).content.decode()
    return {key: body for key, body in re.findall(r'<li class="method-choice" data-method="(\w+)">(.*?)</li>',
                                                  html, re.S)}


def visibly_recommended(line: str) -> bool:
    return bool(re.search(r'<strong class="recommended[^"]*">Recommended</strong>', line))


def recommended_for_browsers_without_webauthn(line: str) -> bool:
    return bool(re.search(r'<strong class="recommended" data-webauthn-unsupported hidden>Recommended</strong>', line))


def test_passkeys_are_recommended_when_allowed_with_the_app_for_browsers_without_them(acme):
    add_fake_device(acme.owner)
    require(acme, [])

    lines = choices(acme)

    assert [key for key, line in lines.items() if visibly_recommended(line)] == ["webauthn"]
    assert [key for key, line in lines.items() if recommended_for_browsers_without_webauthn(line)] == ["totp"]
    assert 'class="button primary"' in lines["webauthn"] and 'class="button primary"' not in lines["sms"]


def test_google_authenticator_is_recommended_when_passkeys_are_not_allowed(acme):
    add_fake_device(acme.owner)
    require(acme, ["sms", "totp", "fake"])

    lines = choices(acme)

    assert "webauthn" not in lines
    assert [key for key, line in lines.items() if visibly_recommended(line)] == ["totp"]
    assert not any(recommended_for_browsers_without_webauthn(line) for line in lines.values())


def test_only_allowed_method_is_the_one_recommended(acme):
    give_methods(acme.owner, ["sms"])
    require(acme, ["sms"])

    lines = choices(acme)

    assert list(lines) == ["sms"] and visibly_recommended(lines["sms"])


def test_each_add_edit_link_names_its_method_for_screen_readers(acme):
    add_fake_device(acme.owner)
    require(acme, [])

    lines = choices(acme)

    link = re.search(r"<a [^>]*>(.*?)</a>", lines["totp"], re.S)[1]
    assert re.sub(r"<[^>]+>", "", unescape(link)).split() == ["Add/Edit", "Google", "Authenticator"]
    assert '<span class="visually-hidden"> Google Authenticator</span>' in link
