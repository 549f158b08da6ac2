"""What a backup code is: its alphabet, length, display form, normal form and lookup hash.

Pure functions, no database: the flows and the model build on them.

Alphabet and length. The 31 symbols below are the digits and lower-case
letters minus those people confuse when reading a printed sheet (0/o, 1/l/i).
Ten of them would give 31**10 ≈ 2**49.5, short of the 50 bits we promise, so
a code has twelve (≈ 2**59.4), shown as two groups of six: ``7hx4km-2q9pab``.
"""
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from mfa.backup_codes.app_settings import app_settings
from mfa.base import secret_codes
from mfa.base.secret_codes import InvalidInput

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 12
GROUP = 6
SEPARATOR = "-"
# Longer input cannot be a code; refusing it early bounds the work per request.
MAX_INPUT_LENGTH = 64
EXAMPLE = "7hx4km-2q9pab"  # not a real code: wording only

_HMAC_SALT = "ctm_auth.mfa.backup_codes.lookup"
_IGNORED = frozenset(" \t\r\n" + SEPARATOR)


def entropy_bits() -> float:
    return secret_codes.entropy_bits(ALPHABET, LENGTH)


def generate() -> str:
    """Return a new code in normal form (no separator)."""
    return secret_codes.generate(ALPHABET, LENGTH)


def display(normal: str) -> str:
    """Return the normal-form code as people read it, in groups of GROUP."""
    return secret_codes.display(normal, GROUP, SEPARATOR)


def normalise(raw: str) -> str:
    """Return the normal form of what the user typed, or raise InvalidInput.

    Case, spaces and dashes do not matter. Anything outside ASCII is refused,
    not folded: a Cyrillic "а" or a full-width "ａ" is a different character,
    and mapping look-alikes onto ASCII would widen what an attacker's input
    can match. The user gets a clear message and types the code again.
    """
    raw = raw or ""
    if not raw.strip():
        raise InvalidInput("empty", _("Enter one of your backup codes."))
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidInput("too_long", _(
            "That is too long for a backup code. A backup code has %(length)d letters and digits, like %(example)s."
        ) % {"length": LENGTH, "example": EXAMPLE})
    if not raw.isascii():
        raise InvalidInput("non_ascii", _(
            "Backup codes use only plain letters a-z, digits 2-9 and a dash. Your entry has other "
            "characters, perhaps from another keyboard layout. Type the code again."
        ))
    code = "".join(ch for ch in raw.lower() if ch not in _IGNORED)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        raise InvalidInput("invalid_format", _(
            "That is not a backup code. A backup code has %(length)d letters and digits, like %(example)s "
            "(it never contains 0, 1, i, l or o)."
        ) % {"length": LENGTH, "example": EXAMPLE})
    return code


def _hash_keys() -> list[str]:
    if app_settings.HASH_KEY:
        return [app_settings.HASH_KEY, *app_settings.HASH_KEY_FALLBACKS]
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def lookup_hash(user_id: int, code: str, *, key: str | None = None) -> str:
    """Return the keyed hash (HMAC-SHA256) a code is looked up by.

    Keyed, so a copy of the database alone cannot be searched for codes; the
    user id is mixed in, so equal codes of two users never share a hash.
    """
    secret = key if key is not None else _hash_keys()[0]
    return salted_hmac(_HMAC_SALT, f"{user_id}:{code}", secret=secret, algorithm="sha256").hexdigest()


def candidate_hashes(user_id: int, code: str) -> list[str]:
    """Return the hashes of ``code`` under the current and every fallback key."""
    return [lookup_hash(user_id, code, key=key) for key in _hash_keys()]
