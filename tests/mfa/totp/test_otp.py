"""RFC 6238 arithmetic, code normalisation, key presentation and the QR code."""
import base64
import re
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from mfa.totp import otp

# RFC 6238 Appendix B, SHA-1 column: the 20-byte ASCII seed and 8-digit codes.
RFC_SEED = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_generate_matches_rfc6238_sha1_vector(unix_time, expected):
    assert otp.generate(RFC_SEED, at=unix_time, digits=8, step=30) == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_verify_accepts_rfc6238_sha1_vector_at_its_time_step(unix_time, expected):
    matches = otp.matching_time_steps(RFC_SEED, expected, at=unix_time, digits=8, step=30, tolerance=0)
    assert matches == [unix_time // 30]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_verify_refuses_rfc6238_vector_three_steps_later(unix_time, expected):
    later = unix_time + 3 * 30
    assert otp.matching_time_steps(RFC_SEED, expected, at=later, digits=8, step=30, tolerance=1) == []


def test_matching_time_steps_finds_one_step_drift_each_side():
    secret, now = otp.new_secret(), 1_700_000_000
    t = now // 30
    before = otp.generate(secret, at=now - 30)
    after = otp.generate(secret, at=now + 30)
    assert otp.matching_time_steps(secret, before, at=now) == [t - 1]
    assert otp.matching_time_steps(secret, after, at=now) == [t + 1]
    assert otp.matching_time_steps(secret, otp.generate(secret, at=now + 60), at=now) == []
    assert otp.matching_time_steps(secret, otp.generate(secret, at=now - 60), at=now) == []


def test_matching_time_steps_centres_window_on_remembered_drift():
    secret, now = otp.new_secret(), 1_700_000_000
    two_ahead = otp.generate(secret, at=now + 60)
    assert otp.matching_time_steps(secret, two_ahead, at=now, drift=1) == [now // 30 + 2]


def test_new_secret_is_160_random_bits_in_base32():
    secrets_seen = {otp.new_secret() for _ in range(50)}
    assert len(secrets_seen) == 50
    for secret in secrets_seen:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20


def test_secret_hex_is_the_raw_key():
    assert otp.secret_hex(RFC_SEED) == b"12345678901234567890".hex()


def test_grouped_key_is_shown_in_fours():
    assert otp.grouped("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567"


def test_provisioning_uri_names_issuer_and_email():
    secret = otp.new_secret()
    uri = otp.provisioning_uri(secret, account="alice@acme.test", issuer="CallTrackingMetrics")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert parsed.path == "/CallTrackingMetrics:alice%40acme.test"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret] and query["issuer"] == ["CallTrackingMetrics"]
    app = pyotp.parse_uri(uri)  # what a phone's authenticator makes of it
    assert (app.secret, app.digits, app.interval) == (secret, 6, 30)
    assert app.at(1_700_000_000) == otp.generate(secret, at=1_700_000_000)


def test_qr_svg_is_inline_svg_without_style_attributes():
    svg = otp.qr_svg("otpauth://totp/Issuer:a%40b.test?secret=JBSWY3DPEHPK3PXP&issuer=Issuer")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "style=" not in svg  # the CSP would block inline styles
    assert "JBSWY3DPEHPK3PXP" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize("raw", ["123456", "123 456", " 123456", "123456 ", "\t123456\n", "1 2 3 4 5 6"])
def test_normalize_code_accepts_spaces_inside_and_around(raw):
    assert otp.normalize_code(raw) == "123456"


@pytest.mark.parametrize(("raw", "error"), [
    ("", "required"),
    ("   ", "required"),
    ("12345", "wrong_length"),
    ("1234567", "wrong_length"),
    (" 12345 ", "wrong_length"),
    ("12345 ", "wrong_length"),
    ("12a456", "not_digits"),
    ("abcdef", "not_digits"),
    ("１２３４５６", "not_digits"),
    ("١٢٣٤٥٦", "not_digits"),
    ("123-456", "not_digits"),
    ("123\u00a0456", "not_digits"),
    ("123\t456", "not_digits"),
    ("+12345", "not_digits"),
])
def test_normalize_code_refuses_malformed_codes(raw, error):
    with pytest.raises(otp.InvalidCode) as caught:
        otp.normalize_code(raw)
    assert caught.value.code == error
