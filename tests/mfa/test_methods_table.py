"""Profile > Multi-Factor Methods (and Edit user's copy of it) as a screen reader hears it."""
import re
from html import unescape

import pytest
from django.urls import reverse

from tests.conftest import add_fake_device, sign_in

pytestmark = pytest.mark.django_db


def rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr class="method-row[^"]*" data-method="(\w+)">(.*?)</tr>', html, re.S))


def text(fragment: str) -> str:
    """What is read out: the text, markup removed, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def visible_text(fragment: str) -> str:
    """What is seen: without the visually hidden parts."""
    return text(re.sub(r'<span class="visually-hidden">.*?</span>', "", fragment, flags=re.S))


def add_edit_link(row: str) -> str:
    return re.search(r'<a class="button" href="[^"]*">(.*?)</a>', row, re.S)[1]


EXPECTED_NAMES = {
    "totp": "Add/Edit Google Authenticator",
    "sms": "Add/Edit Text Messages",
    "webauthn": "Add/Edit Passkeys and security keys",
    "backup_codes": "Add/Edit Backup Codes",
}


def test_profile_add_edit_links_look_alike_but_are_named_by_their_method(client, user_with_mfa):
    sign_in(client, user_with_mfa)

    table = rows(client.get(reverse("accounts:profile")).content.decode())

    for key, name in EXPECTED_NAMES.items():
        link = add_edit_link(table[key])
        assert visible_text(link) == "Add/Edit", key
        assert text(link) == name, key


def test_profile_green_circle_has_a_text_alternative_and_a_legend(client, user_with_mfa):
    sign_in(client, user_with_mfa)

    html = client.get(reverse("accounts:profile")).content.decode()

    dot = re.search(r'<span class="in-use-dot"[^>]*>', rows(html)["fake"])[0]
    assert 'role="img"' in dot and 'aria-label="In use for sign-in"' in dot
    legend = re.search(r'<p class="methods-legend" id="methods-legend">(.*?)</p>', html, re.S)[1]
    assert text(legend) == "in use for sign-in" and 'class="in-use-dot" aria-hidden="true"' in legend
    assert html.index("</table>") < html.index('id="methods-legend"') < html.index("Choose which authentication method")


def test_edit_user_add_edit_links_are_named_by_their_method(client, acme):
    add_fake_device(acme.admin)
    add_fake_device(acme.alice)
    sign_in(client, acme.admin)

    html = client.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])).content.decode()

    table = rows(html)
    assert text(add_edit_link(table["fake"])) == "Add/Edit Fake code"
    assert visible_text(add_edit_link(table["fake"])) == "Add/Edit"
    assert "in use for sign-in" in text(html)
