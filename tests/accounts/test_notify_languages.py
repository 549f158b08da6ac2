"""Every email and text, rendered for an English and a Spanish reader, as notify.render and the SMS code write them.

The emails are found on disk (every ``*_subject.txt`` beside its
``_message.txt``), so a new one is checked without touching this file.
"""
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template.utils import get_app_template_dirs

from accounts import notify
from mfa.sms import codes

SENT_AT = datetime(2026, 12, 2, 12, 29, tzinfo=UTC)
TEMPLATE_SYNTAX = ("{{", "}}", "{%", "%}", "{#")


def email_prefixes() -> list[str]:
    """Every ``<prefix>`` with both ``<prefix>_subject.txt`` and ``<prefix>_message.txt``, in any app."""
    prefixes = set()
    for root in get_app_template_dirs("templates"):
        for subject in Path(root).rglob("*_subject.txt"):
            prefix = str(subject.relative_to(root)).removesuffix("_subject.txt")
            if (Path(root) / f"{prefix}_message.txt").exists():
                prefixes.add(prefix)
    return sorted(prefixes)


EMAILS = email_prefixes()


def test_every_email_is_found():
    assert len(EMAILS) >= 25
    assert "accounts/email/password_changed" in EMAILS and "agencies/email/policy_reminder" in EMAILS


@pytest.fixture
def readers(make_user, acme):
    """An English and a Spanish reader in Acme, and what any email's context may name."""
    english = make_user("en@example.test", name="Erin English")
    spanish = make_user("es@example.test", name="Sofía Español")
    spanish.language = "es"
    spanish.save()
    extra = {
        "sent_at": SENT_AT, "when": SENT_AT, "deadline": SENT_AT + timedelta(days=7), "days_left": 3,
        "agency": acme.agency, "actor": acme.admin, "request_ip": "203.0.113.7", "ip_address": "203.0.113.7",
        "access_pass": SimpleNamespace(expires_at=SENT_AT + timedelta(hours=1)), "replaced": False,
        "key_name": "YubiKey", "previous_name": "Old key", "masked_number": "•••• 4567",
        "old_masked_number": "•••• 1234", "method_label": "Text Messages", "via": "page", "purpose": "signin",
        "remaining": 4, "running_low": True, "valid_minutes": 60, "reset_url": "https://ctm.example/reset/x/",
        "set_up_url": "https://ctm.example/account/two-factor-required/", "allowed_methods_text": "Text Messages",
        "allowed_method_labels": ["Text Messages"], "has_primary_method": False, "backup_codes_destroyed": True,
        "trusted_browsers_revoked": True,
    }
    return {"en": english, "es": spanish, "extra": extra}


def rendered(prefix: str, reader, extra: dict) -> dict:
    return notify.render(prefix, {**notify.base_context(reader), **extra})


@pytest.mark.parametrize("prefix", EMAILS)
def test_email_renders_in_the_recipients_language(prefix, readers):
    english = rendered(prefix, readers["en"], readers["extra"])
    spanish = rendered(prefix, readers["es"], readers["extra"])

    for content in (english, spanish):
        assert content["subject"].strip() and content["body"].strip()
        assert not any(mark in content["subject"] + content["body"] for mark in TEMPLATE_SYNTAX)
        assert "\n" not in content["subject"]
    assert spanish["subject"] != english["subject"], "the Spanish catalog lacks this subject"
    assert spanish["body"] != english["body"], "the Spanish catalog lacks this message"


@pytest.mark.parametrize("prefix", EMAILS)
def test_email_dates_are_in_the_recipients_language(prefix, readers):
    english = rendered(prefix, readers["en"], readers["extra"])["body"]
    spanish = rendered(prefix, readers["es"], readers["extra"])["body"]

    # Django's own Spanish month names: this holds without the project's catalogs.
    assert english.count("Dec 2026") == spanish.count("dic 2026")
    assert "Dec 2026" not in spanish


@pytest.mark.parametrize("prefix", EMAILS)
def test_email_shows_names_as_typed_not_html_escaped(prefix, readers):
    reader = readers["en"]
    reader.name = "Seán O'Brien & Co"
    reader.save()
    extra = {**readers["extra"], "key_name": "Tom's <work> key", "previous_name": "Ann's key"}

    content = rendered(prefix, reader, extra)

    text = content["subject"] + content["body"]
    assert not any(entity in text for entity in ("&#x27;", "&#39;", "&amp;", "&lt;", "&gt;", "&quot;"))
    assert "Seán" in content["body"]  # every email greets its reader by name


def test_email_dates_follow_the_recipients_time_zone(readers):
    reader = readers["en"]
    reader.time_zone = "America/New_York"
    reader.save()

    body = rendered("accounts/email/password_changed", reader, readers["extra"])["body"]

    assert "2 Dec 2026, 07:29 EST" in body


def test_bulk_email_falls_back_to_the_sending_agencys_zone(readers):
    body = notify.render("agencies/email/policy_on", {**notify.base_context(readers["en"]), **readers["extra"]},
                         time_zone="Asia/Tokyo")["body"]

    assert "9 Dec 2026" in body  # 12:29 UTC + 7 days is the 9th in Tokyo too; rendered through the zone


def test_email_in_spanish_even_when_the_request_is_english(readers, settings):
    from django.utils import translation

    with translation.override("en"):
        body = rendered("accounts/email/password_changed", readers["es"], readers["extra"])["body"]
    assert "2 dic 2026, 12:29 UTC" in body


SMS_TEXTS = {"verification code": lambda user: codes.message_body(code="123456", host="ctm.example", user=user)}


@pytest.mark.parametrize("name", sorted(SMS_TEXTS))
def test_text_message_renders_in_the_recipients_language(name, readers):
    english, spanish = SMS_TEXTS[name](readers["en"]), SMS_TEXTS[name](readers["es"])

    for body in (english, spanish):
        assert body.strip() and "123456" in body and body.endswith("@ctm.example #123456")
        assert not any(mark in body for mark in TEMPLATE_SYNTAX)
    assert spanish != english, "the Spanish catalog lacks this text"
