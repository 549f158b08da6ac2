"""Codes and bindings: made with `secrets`, stored only as keyed hashes.

A database dump alone does not reveal codes: the hash is an HMAC keyed
from SECRET_KEY (or MFA_SMS_CODE_HMAC_KEY) over the user, the step and the
code, so the million possible codes cannot be tried offline without the key.
"""
import hmac
import re
import secrets
from contextlib import nullcontext

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from accounts import preferences
from mfa.sms.app_settings import app_settings

CODE_DIGITS = 6
_CODE = re.compile(r"[0-9]{%d}" % CODE_DIGITS)
# People copy codes as "123 456" or "123-456"; those separators are harmless.
_SEPARATORS = re.compile(r"[ \t\-]")


def generate_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _hmac(salt: str, value: str) -> str:
    return salted_hmac(salt, value, secret=app_settings.CODE_HMAC_KEY, algorithm="sha256").hexdigest()


def binding_for(purpose: str, nonce: str) -> str:
    """Return the stored form of what a code is issued for (never the raw session nonce)."""
    return _hmac("mfa.sms.binding", f"{purpose}:{nonce}")


def code_hash(*, user_id: int, purpose: str, binding: str, code: str) -> str:
    return _hmac("mfa.sms.code", f"{user_id}:{purpose}:{binding}:{code}")


def code_matches(stored_hash: str, **parts) -> bool:
    """Compare in constant time, so response timing says nothing about the code."""
    return hmac.compare_digest(stored_hash.encode(), code_hash(**parts).encode())


def normalize_code(raw: str) -> str | None:
    """Return the 6 ASCII digits typed, or None when it cannot be a code (wrong length or alphabet)."""
    candidate = _SEPARATORS.sub("", (raw or "").strip())
    return candidate if _CODE.fullmatch(candidate) else None


def message_body(*, code: str, host: str, user=None) -> str:
    """Return the text, ending with the origin-bound line phones use to autofill the code.

    In ``user``'s language (accounts.preferences), not the request's: step 2
    has nobody signed in, and the text is read on their phone. The last line
    follows the WebOTP / "origin-bound one-time code" format, ``@host #code``:
    iOS and Android offer the code only on that site.
    """
    with preferences.recipient(user) if user is not None else nullcontext():
        first = gettext("Your %(product)s verification code is %(code)s.") % {
            "product": app_settings.ISSUER, "code": code,
        }
    return f"{first}\n\n@{host} #{code}"
