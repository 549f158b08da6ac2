"""Phone numbers: parse what a person typed into E.164, show it, mask it.

Parsing and validation are phonenumbers' (Google's libphonenumber data), so
the rules follow each country's numbering plan rather than a regex of ours.
"""
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mfa.sms.app_settings import app_settings

# Longer than any real number written with spaces and punctuation.
MAX_INPUT_LENGTH = 32
# What people type around the digits. Letters are refused outright: the
# parser would read "1-800-FLOWERS" as keypad digits, which is not what a
# person means by their mobile number.
_ALLOWED_CHARACTERS = re.compile(r"[0-9+\-().\s]*")
# "+1 650 253 0000 ext. 123", "... x123", "...#123", RFC 3966 ";ext=123".
_EXTENSION = re.compile(r"(?i)\d[\s.\-)]*(?:;\s*ext=|ext(?:ension)?\.?|x|#)\s*\d+\s*$")
_MASK = "•••• ••• "

# Types phonenumbers can tell apart that cannot (or should not) get texts.
NOT_MOBILE_TYPES = frozenset({
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
})

ERRORS = {
    "required": _("Enter your mobile number."),
    "too_long": _("That is too long to be a phone number."),
    "characters": _("Use only digits, spaces and + ( ) - in the phone number."),
    "international": _("Enter the number in international format, starting with + and the country code."),
    "extension": _("Enter a mobile number without an extension."),
    "invalid": _("This is not a valid phone number. Check it and try again."),
    "not_mobile": _("This is not a mobile number. Enter a number that can receive text messages."),
    "country": _("Text messages cannot be sent to numbers in this country."),
}


def parse_mobile_number(raw: str) -> str:
    """Return ``raw`` as an E.164 mobile number, or raise ValidationError with a stable code."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(ERRORS["required"], code="required")
    if len(text) > MAX_INPUT_LENGTH:
        raise ValidationError(ERRORS["too_long"], code="too_long")
    if _EXTENSION.search(text):
        raise ValidationError(ERRORS["extension"], code="extension")
    if not _ALLOWED_CHARACTERS.fullmatch(text):
        raise ValidationError(ERRORS["characters"], code="characters")
    if not text.startswith("+"):
        raise ValidationError(ERRORS["international"], code="international")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        code = "too_long" if exc.error_type == phonenumbers.NumberParseException.TOO_LONG else "invalid"
        raise ValidationError(ERRORS[code], code=code) from None
    return _checked(number)


def _checked(number: phonenumbers.PhoneNumber) -> str:
    if number.extension:
        raise ValidationError(ERRORS["extension"], code="extension")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(ERRORS["invalid"], code="invalid")
    if phonenumbers.number_type(number) in NOT_MOBILE_TYPES:
        raise ValidationError(ERRORS["not_mobile"], code="not_mobile")
    allowed = app_settings.ALLOWED_COUNTRIES
    if allowed is not None and phonenumbers.region_code_for_number(number) not in allowed:
        raise ValidationError(ERRORS["country"], code="country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_number(e164: str) -> str:
    """Return an E.164 number as people write it internationally ("+44 7400 123456")."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def mask_number(e164: str) -> str:
    """Return "•••• ••• 1234": enough to recognise one's phone, too little to dial it."""
    digits = re.sub(r"\D", "", e164 or "")
    return _MASK + digits[-4:] if len(digits) >= 4 else _MASK.strip()
