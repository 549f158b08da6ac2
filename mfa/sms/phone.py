"""Phone numbers: parse what a person typed into E.164, show it, mask it; the countries to pick from.

Parsing and validation are phonenumbers' (Google's libphonenumber data), so
the rules follow each country's numbering plan rather than a regex of ours.
A number typed without "+" is read in the country picked beside it.

Display: numbers are always shown INTERNATIONAL ("+1 415-555-2671"), masked
ones too ("+1 •••-•••-2671"). One format everywhere, whoever looks: an
administrator of another agency, the audit log and the emails read the same
number the same way, and a national format would be ambiguous out of context.
"""
import functools
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumbers.geodata.locale import LOCALE_DATA

from mfa.sms.app_settings import app_settings

# Longer than any real number written with spaces and punctuation.
MAX_INPUT_LENGTH = 32
# What people type around the digits. Letters are refused outright: the
# parser would read "1-800-FLOWERS" as keypad digits, which is not what a
# person means by their mobile number.
_ALLOWED_CHARACTERS = re.compile(r"[0-9+\-().\s]*")
# "+1 650 253 0000 ext. 123", "... x123", "...#123", RFC 3966 ";ext=123".
_EXTENSION = re.compile(r"(?i)\d[\s.\-)]*(?:;\s*ext=|ext(?:ension)?\.?|x|#)\s*\d+\s*$")
_MASK_CHARACTER = "•"
DEFAULT_REGION = "US"

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
    "invalid_in_country": _(
        "This is not a valid phone number in %(country)s. Check it, or choose its country, "
        "or start with + and the country code."
    ),
    "extension": _("Enter a mobile number without an extension."),
    "invalid": _("This is not a valid phone number. Check it and try again."),
    "not_mobile": _("This is not a mobile number. Enter a number that can receive text messages."),
    "country": _("Text messages cannot be sent to numbers in this country."),
}


def parse_mobile_number(raw: str, region: str | None = None) -> str:
    """Return ``raw`` as an E.164 mobile number, or raise ValidationError with a stable code.

    ``region`` (ISO 3166 alpha-2) is the country a number typed without "+"
    is read in; a number typed with "+" (or the country's international
    prefix, "00" or "011") carries its own. Without a region only "+" works.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(ERRORS["required"], code="required")
    if len(text) > MAX_INPUT_LENGTH:
        raise ValidationError(ERRORS["too_long"], code="too_long")
    if _EXTENSION.search(text):
        raise ValidationError(ERRORS["extension"], code="extension")
    if not _ALLOWED_CHARACTERS.fullmatch(text):
        raise ValidationError(ERRORS["characters"], code="characters")
    national = not text.startswith("+")
    if national and region is None:
        raise ValidationError(ERRORS["international"], code="international")
    try:
        number = phonenumbers.parse(text, None if not national else region)
    except phonenumbers.NumberParseException as exc:
        code = "too_long" if exc.error_type == phonenumbers.NumberParseException.TOO_LONG else "invalid"
        raise ValidationError(ERRORS[code], code=code) from None
    return _checked(number, typed_in=region if national else None)


def _checked(number: phonenumbers.PhoneNumber, *, typed_in: str | None) -> str:
    if number.extension:
        raise ValidationError(ERRORS["extension"], code="extension")
    if not phonenumbers.is_valid_number(number):
        if typed_in is not None and number.country_code == phonenumbers.country_code_for_region(typed_in):
            # Read in the picked country: say which, the person may have meant another.
            raise ValidationError(ERRORS["invalid_in_country"], code="invalid_in_country",
                                  params={"country": country_name(typed_in)})
        raise ValidationError(ERRORS["invalid"], code="invalid")
    if phonenumbers.number_type(number) in NOT_MOBILE_TYPES:
        raise ValidationError(ERRORS["not_mobile"], code="not_mobile")
    allowed = app_settings.ALLOWED_COUNTRIES
    if allowed is not None and phonenumbers.region_code_for_number(number) not in allowed:
        raise ValidationError(ERRORS["country"], code="country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parsed(e164: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None


def format_number(e164: str) -> str:
    """Return an E.164 number as people write it internationally ("+44 7400 123456")."""
    number = _parsed(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL) if number else e164


def mask_number(e164: str) -> str:
    """Return "+1 •••-•••-2671": enough to recognise one's phone, too little to dial it.

    The country code and the last four digits stay, laid out as the country
    writes its numbers; every other digit becomes a dot.
    """
    number = _parsed(e164)
    if number is None:
        digits = re.sub(r"\D", "", e164 or "")
        return _MASK_CHARACTER * 4 + (" " + digits[-4:] if len(digits) >= 4 else "")
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{number.country_code}"
    national = shown[len(prefix):]
    hide = sum(character.isdigit() for character in national) - 4
    masked = []
    for character in national:
        if character.isdigit() and hide > 0:
            character, hide = _MASK_CHARACTER, hide - 1
        masked.append(character)
    return prefix + "".join(masked)


# -- countries -------------------------------------------------------------------

# Regions phonenumbers knows but has no name for (its names come from CLDR).
_UNNAMED_REGIONS = {
    "AC": _("Ascension Island"),
    "TA": _("Tristan da Cunha"),
    "XK": _("Kosovo"),
}


def country_name(region: str) -> str:
    """Return the region's name in the active language (phonenumbers' CLDR names), English as fallback."""
    names = LOCALE_DATA.get(region, {})
    language = (get_language() or "en").split("-")[0]
    name = names.get(language) or names.get("en") or ""
    if name.startswith("*"):  # "*en": the name is the one of that language
        name = names.get(name[1:], "")
    return name or str(_UNNAMED_REGIONS.get(region, region))


def selectable_regions() -> list[str]:
    """Regions a number may be from: MFA_SMS_ALLOWED_COUNTRIES, or every region phonenumbers knows."""
    allowed = app_settings.ALLOWED_COUNTRIES
    known = phonenumbers.SUPPORTED_REGIONS
    return sorted(region for region in (allowed if allowed is not None else known) if region in known)


def region_choices() -> list[tuple[str, str]]:
    """Return (region, "United States (+1)") pairs, sorted by name in the active language."""
    return _region_choices(get_language() or "en", tuple(selectable_regions()))


@functools.lru_cache(maxsize=16)
def _region_choices(language: str, regions: tuple[str, ...]) -> list[tuple[str, str]]:
    labelled = [(region, f"{country_name(region)} (+{phonenumbers.country_code_for_region(region)})")
                for region in regions]
    return sorted(labelled, key=lambda choice: _sort_key(choice[1]))


def _sort_key(name: str) -> str:
    """Sort "Österreich" with the O's and "Émirats" with the E's, as people look for them."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(character for character in decomposed if not unicodedata.combining(character)).casefold()


@functools.lru_cache(maxsize=None)
def example_number(region: str) -> str:
    """Return a mobile number of ``region`` as written there ("(201) 555-0123" in the US), or ""."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL) if example else ""


def resolve_region(*candidates: str | None) -> str:
    """Return the first candidate that numbers may be from, else US, else the first selectable region."""
    selectable = selectable_regions()
    for candidate in (*candidates, DEFAULT_REGION):
        region = (candidate or "").upper()
        if region in selectable:
            return region
    return selectable[0] if selectable else DEFAULT_REGION
