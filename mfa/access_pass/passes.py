"""What a temporary access pass is: its alphabet, length, display form, normal form and keyed hash.

Pure functions, no database: the flows and the model build on them.

Sixteen symbols of Crockford's base32 (digits and capitals without I, L, O
and U) carry 5 bits each: 80 bits, shown as four groups of four,
``7KQ2-M9XD-4HRB-T6WC``. On entry case, spaces and dashes do not matter, and
O, I and L read as 0, 1 and 1, as Crockford's decoding does: they are not
symbols of the alphabet, so this widens nothing an attacker could match.
"""
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from mfa.base import secret_codes
from mfa.base.secret_codes import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
GROUP = 4
SEPARATOR = "-"
# Longer input cannot be a pass; refusing it early bounds the work per request.
MAX_INPUT_LENGTH = 40
EXAMPLE = "7KQ2-M9XD-4HRB-T6WC"  # not a real pass: wording only

_HMAC_SALT = "ctm_auth.mfa.access_pass.lookup"
_IGNORED = frozenset(" \t\r\n" + SEPARATOR)
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def entropy_bits() -> float:
    return secret_codes.entropy_bits(ALPHABET, LENGTH)


def generate() -> str:
    """Return a new pass in normal form (no separator)."""
    return secret_codes.generate(ALPHABET, LENGTH)


def display(normal: str) -> str:
    """Return the normal-form pass as people read it, in groups of GROUP."""
    return secret_codes.display(normal, GROUP, SEPARATOR)


def normalise(raw: str) -> str:
    """Return the normal form of what was typed, or raise InvalidInput.

    Anything outside ASCII is refused, not folded: a Cyrillic "А" is a
    different character, and the user is told to type the pass again.
    """
    raw = raw or ""
    if not raw.strip():
        raise InvalidInput("empty", _("Enter the temporary access pass your administrator gave you."))
    if len(raw) > MAX_INPUT_LENGTH or not raw.isascii():
        raise InvalidInput("invalid_format", _format_message())
    normal = "".join(_READ_AS.get(ch, ch) for ch in raw.upper() if ch not in _IGNORED)
    if len(normal) != LENGTH or any(ch not in ALPHABET for ch in normal):
        raise InvalidInput("invalid_format", _format_message())
    return normal


def _format_message() -> str:
    return _("That is not a temporary access pass. A pass has %(length)d letters and digits, like %(example)s.") % {
        "length": LENGTH, "example": EXAMPLE}


def lookup_hash(user_id: int, normal: str) -> str:
    """Return the keyed hash (HMAC-SHA256 under SECRET_KEY) the pass is stored as, hex.

    Keyed, so a copy of the database alone cannot be searched for passes; the
    user id is mixed in, so one user's pass never matches another's.
    """
    return salted_hmac(_HMAC_SALT, f"{user_id}:{normal}", algorithm="sha256").hexdigest()
