"""RFC 6238 arithmetic, code normalisation and the provisioning QR code.

Pure functions with no database access, so the RFC test vectors can run
against exactly the code that verifies users' codes. pyotp does the HMAC
arithmetic; this module decides which time-steps to try and how to compare.
"""
import base64
import hashlib
import hmac
import re
import secrets

import pyotp
import qrcode
import qrcode.image.svg

#: 20 random bytes: the 160-bit key length RFC 4226 recommends for HMAC-SHA-1.
SECRET_BYTES = 20

# Only ASCII digits: "\d" would also accept full-width and other Unicode digits.
_ASCII_DIGITS = re.compile(r"[0-9]+")


def new_secret() -> str:
    """Return a fresh 160-bit secret in unpadded base32 (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def secret_hex(secret: str) -> str:
    """Return the secret's bytes in hex (what `oathtool` takes, and a form a dump could leak)."""
    padded = secret + "=" * (-len(secret) % 8)
    return base64.b32decode(padded, casefold=True).hex()


def grouped(secret: str, size: int = 4) -> str:
    """Return the key in groups of four, the way people type it into an app."""
    return " ".join(secret[i:i + size] for i in range(0, len(secret), size))


def _totp(secret: str, *, digits: int, step: int) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, interval=step, digest=hashlib.sha1)


def time_step(at: float, *, step: int = 30) -> int:
    """Return the RFC 6238 counter T = floor((unix time - T0) / X) with T0 = 0."""
    return int(at // step)


def generate(secret: str, *, at: float, digits: int = 6, step: int = 30) -> str:
    """Return the code an authenticator app shows at Unix time ``at``."""
    return _totp(secret, digits=digits, step=step).generate_otp(time_step(at, step=step))


def matching_time_steps(
    secret: str, code: str, *, at: float, digits: int = 6, step: int = 30, drift: int = 0, tolerance: int = 1
) -> list[int]:
    """Return every time-step in the window whose code equals ``code``, oldest first.

    The window is the current step shifted by the device's remembered
    ``drift``, widened by ``tolerance`` steps on each side. Every candidate is
    compared in constant time and none is skipped, so the timing does not
    tell which step (if any) matched. ``code`` must already be normalised.
    """
    totp = _totp(secret, digits=digits, step=step)
    current = time_step(at, step=step)
    matches = []
    for offset in range(drift - tolerance, drift + tolerance + 1):
        candidate = current + offset
        if candidate >= 0 and hmac.compare_digest(totp.generate_otp(candidate).encode(), code.encode()):
            matches.append(candidate)
    return matches


def provisioning_uri(secret: str, *, account: str, issuer: str, digits: int = 6, step: int = 30) -> str:
    """Return the otpauth://totp/... URI the QR code carries."""
    return _totp(secret, digits=digits, step=step).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(data: str) -> str:
    """Return ``data`` as an inline <svg> QR code, built here: no file, no outside service.

    The fill variant paints a white background, so the code keeps its quiet
    zone (and stays scannable) on any page colour. Its output carries no
    style attributes, which the Content-Security-Policy would block.
    """
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage,
                        error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    return image.to_string(encoding="unicode")


class InvalidCode(ValueError):
    """A code that cannot be right whatever the secret; ``code`` is a stable error code."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def normalize_code(raw: str, *, digits: int = 6) -> str:
    """Return the code as ``digits`` ASCII digits, or raise InvalidCode.

    Surrounding whitespace is dropped (copying a code from an app or a
    password manager often brings a trailing space or newline), and so are
    ASCII spaces inside ("123 456" is how apps display codes). Whatever is
    left must be exactly ``digits`` ASCII digits: padding never turns a
    5-digit code into a valid one, and full-width digits are refused rather
    than silently converted.
    """
    compact = (raw or "").strip().replace(" ", "")
    if not compact:
        raise InvalidCode("required")
    if not _ASCII_DIGITS.fullmatch(compact):
        raise InvalidCode("not_digits")
    if len(compact) != digits:
        raise InvalidCode("wrong_length")
    return compact
