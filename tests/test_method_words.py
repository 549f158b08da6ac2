"""Methods and events reach people in words ("Google Authenticator"), never as keys (``totp``, ``signin.failed``).

Every page that names a method is read as a person sees it (text only, no
attributes) after events of every registered type were recorded with every
method: Profile > Recent sign-in activity, Edit user, Manage Users, the
Security Log, and the email a member gets when an administrator resets a method.
"""
import re
from html import unescape

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import audit, audit_events
from agencies import flows as agency_flows
from mfa.registry import all_methods, get_method
from tests.conftest import add_fake_device, open_after_step_up, sign_in

pytestmark = pytest.mark.django_db

KEYS = [method.key for method in all_methods()] + ["password", "trusted_browser"]
# Keys that are also plain English ("signed in with a password"): recorded, but not looked for.
ENGLISH = {"password"}
WORDS = {
    "totp": "Google Authenticator", "sms": "Text Messages", "webauthn": "Passkeys and security keys",
    "backup_codes": "Backup Codes", "access_pass": "Temporary access pass", "password": "Password",
}


def seen(html: str) -> str:
    """The page's text as shown: no tags, no attributes, no script."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def machine_keys_in(text: str) -> list[str]:
    keys = [key for key in KEYS if key not in ENGLISH and re.search(rf"(?<![\w.@/-]){re.escape(key)}(?![\w.@/-])", text)]
    codes = [code for code in audit_events.registered() if code in text]
    return keys + codes


def record_every_event(user, agency=None) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0")
    request.user = user
    for code in audit_events.registered():
        for key in KEYS:
            audit.record(request, code, actor=user, target=user, agency=agency, method=key,
                         data={"error": "incorrect_code", "purpose": "sign_in"})


def test_method_labels_are_the_seed_words():
    assert {key: str(get_method(key).label) for key in WORDS if get_method(key)} == {
        key: words for key, words in WORDS.items() if key != "password"}
    assert audit_events.method_name("password") == "Password"


def test_profile_sign_in_activity_names_methods_in_words(client, user_with_mfa):
    sign_in(client, user_with_mfa)
    for key in KEYS:
        audit.record(None, audit.SIGN_IN_SUCCEEDED, actor=user_with_mfa, method=key)
        audit.record(None, audit.SIGN_IN_SECOND_FACTOR_FAILED, target=user_with_mfa, method=key,
                     data={"error": "incorrect_code"})

    html = client.get(reverse("accounts:profile")).content.decode()

    activity = seen(re.search(r'<section class="card" id="sign-in-activity">.*?</section>', html, re.S)[0])
    for key, words in WORDS.items():
        if key == "password" or get_method(key):
            assert words in activity, key
    assert "Trusted browser" in activity
    assert machine_keys_in(seen(html)) == []


def test_security_log_names_every_event_and_method_in_words(acme):
    add_fake_device(acme.admin)
    record_every_event(acme.alice, acme.agency)
    client = Client()
    sign_in(client, acme.admin)

    html = client.get(reverse("settings:security_log", args=[acme.agency.pk]), {"user": "alice@"}).content.decode()

    assert html.count('class="log-row"') > 0
    assert machine_keys_in(seen(html)) == []


def test_manage_users_and_edit_user_name_methods_in_words(acme):
    add_fake_device(acme.admin)
    add_fake_device(acme.alice)
    record_every_event(acme.alice, acme.agency)
    client = Client()
    sign_in(client, acme.admin)

    for url in (reverse("settings:manage_users", args=[acme.agency.pk]),
                reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])):
        text = seen(client.get(url).content.decode())
        assert machine_keys_in(text) == [], url
    edit = seen(client.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])).content.decode())
    for words in ("Google Authenticator", "Text Messages", "Passkeys and security keys", "Backup Codes"):
        assert words in edit


def test_method_reset_email_names_the_method_in_words(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.admin)
    add_fake_device(acme.alice)
    client = Client()
    sign_in(client, acme.admin)
    url = reverse("agencies:member_method", args=[acme.agency.pk, acme.alice.pk, "fake"])
    page = seen(open_after_step_up(client, acme.admin, url).content.decode())
    assert machine_keys_in(page) == []
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        agency_flows.reset_member_method(None, actor=acme.admin, agency=acme.agency, target=acme.alice,
                                         method=get_method("fake"))

    [email] = [m for m in mail.outbox if m.to == [acme.alice.email]]
    assert "Fake code" in email.subject and "Fake code" in email.body
    assert machine_keys_in(email.subject + " " + email.body) == []
