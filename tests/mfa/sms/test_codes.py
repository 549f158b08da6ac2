"""Codes: six digits from `secrets`, kept only as keyed hashes, texted in the agreed words."""
import pytest

from mfa.sms import codes


def test_generate_code_is_six_ascii_digits():
    generated = {codes.generate_code() for _ in range(200)}

    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in generated)
    assert len(generated) > 150  # random, not a counter


def test_generate_code_uses_secrets(monkeypatch):
    monkeypatch.setattr(codes.secrets, "randbelow", lambda n: 42)

    assert codes.generate_code() == "000042"


def test_code_hash_is_keyed_and_bound_to_user_and_step(settings):
    parts = {"user_id": 1, "purpose": "sign_in", "binding": "b" * 64, "code": "123456"}
    original = codes.code_hash(**parts)

    assert "123456" not in original and len(original) == 64
    assert codes.code_matches(original, **parts)
    assert not codes.code_matches(original, **{**parts, "user_id": 2})
    assert not codes.code_matches(original, **{**parts, "purpose": "reauth"})
    assert not codes.code_matches(original, **{**parts, "binding": "c" * 64})
    settings.MFA_SMS_CODE_HMAC_KEY = "another key"
    assert codes.code_hash(**parts) != original


def test_binding_hides_the_session_nonce():
    nonce = codes.new_nonce()

    assert nonce not in codes.binding_for("sign_in", nonce)
    assert codes.binding_for("sign_in", nonce) != codes.binding_for("reauth", nonce)


@pytest.mark.parametrize(("typed", "normalized"), [
    ("123456", "123456"),
    ("123 456", "123456"),
    (" 123456\n", "123456"),
    ("123-456", "123456"),
    ("12345", None),              # too short
    ("1234567", None),            # too long
    ("abcdef", None),             # letters
    ("12345a", None),
    ("１２３４５６", None),        # full-width digits
    ("١٢٣٤٥٦", None),             # Arabic-Indic digits
    ("", None),
    ("123456" * 10, None),
])
def test_normalize_code_accepts_only_six_ascii_digits(typed, normalized):
    assert codes.normalize_code(typed) == normalized


def test_message_body_has_product_sentence_and_origin_bound_line():
    body = codes.message_body(code="123456", host="ctm.example.com")

    assert body == "Your CallTrackingMetrics verification code is 123456.\n\n@ctm.example.com #123456"


def test_message_body_names_the_issuer_setting(settings):
    settings.MFA_ISSUER = "Acme Calls"

    assert codes.message_body(code="654321", host="x.test").startswith("Your Acme Calls verification code is 654321.")
