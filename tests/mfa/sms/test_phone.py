"""Phone numbers from several countries: accepted as E.164 mobiles, or refused with a reason."""
import pytest
from django.core.exceptions import ValidationError

from mfa.sms.forms import PhoneNumberForm
from mfa.sms.phone import ERRORS, format_number, mask_number, parse_mobile_number

VALID_MOBILES = [
    # typed                     E.164              shown
    ("+1 415 555 2671",        "+14155552671",    "+1 415-555-2671"),    # US (fixed line or mobile)
    ("+1-415-555-2671",        "+14155552671",    "+1 415-555-2671"),
    ("+44 7400 123456",        "+447400123456",   "+44 7400 123456"),    # GB
    ("+44 (0)7400 123456",     "+447400123456",   "+44 7400 123456"),    # GB, with the national trunk 0
    ("+49 151 1234 5678",      "+4915112345678",  "+49 1511 2345678"),   # DE
    ("+91 98765 43210",        "+919876543210",   "+91 98765 43210"),    # IN
    ("+55 11 91234-5678",      "+5511912345678",  "+55 11 91234-5678"),  # BR
    ("+61 412 345 678",        "+61412345678",    "+61 412 345 678"),    # AU
    ("+33 6 12 34 56 78",      "+33612345678",    "+33 6 12 34 56 78"),  # FR
    ("+81 90-1234-5678",       "+819012345678",   "+81 90-1234-5678"),   # JP
    ("  +33612345678  ",       "+33612345678",    "+33 6 12 34 56 78"),  # surrounding spaces
]

INVALID_NUMBERS = [
    # typed                          error code
    ("",                             "required"),
    ("call me maybe",                "characters"),    # letters only
    ("+1 800 FLOWERS",               "characters"),    # vanity letters are not a mobile number
    ("📱 +14155552671",              "characters"),    # emoji
    ("+14155552671 📞",              "characters"),
    ("1" * 40,                       "too_long"),      # 40 digits
    ("+" + "4" * 31,                 "too_long"),      # fits the field, too long for any plan
    ("+1 650 253 0000 ext. 123",     "extension"),
    ("+1 650 253 0000 x123",         "extension"),
    ("+16502530000;ext=123",         "extension"),
    ("+16502530000#123",             "extension"),
    ("4155552671",                   "international"), # no country code
    ("0044 7400 123456",             "international"),
    ("+999 123 456 789",             "invalid"),       # no such country code
    ("+1 415 555 267",               "invalid"),       # US, a digit short
    ("+1 415 555 26712",             "invalid"),       # US, a digit long
    ("+33 6 12 34 56 7",             "invalid"),       # FR, too short
    ("+44 20 7946 0000",             "not_mobile"),    # GB landline (London)
    ("+49 30 901820",                "not_mobile"),    # DE landline (Berlin)
    ("+33 1 42 68 53 00",            "not_mobile"),    # FR landline (Paris)
    ("+61 2 9123 4567",              "not_mobile"),    # AU landline (Sydney)
    ("+55 11 3234-5678",             "not_mobile"),    # BR landline (São Paulo)
    ("+1 800 555 0199",              "not_mobile"),    # US toll-free
    ("+1 900 555 0199",              "not_mobile"),    # US premium rate
]


@pytest.mark.parametrize(("typed", "e164", "shown"), VALID_MOBILES)
def test_parse_valid_mobile_returns_e164(typed, e164, shown):
    assert parse_mobile_number(typed) == e164
    assert format_number(e164) == shown


@pytest.mark.parametrize(("typed", "error"), INVALID_NUMBERS)
def test_parse_refuses_bad_number_with_reason(typed, error):
    with pytest.raises(ValidationError) as refused:
        parse_mobile_number(typed)

    assert refused.value.code == error


def test_parse_refuses_number_outside_allowed_countries(settings):
    settings.MFA_SMS_ALLOWED_COUNTRIES = ["us", "GB"]

    assert parse_mobile_number("+14155552671") == "+14155552671"
    assert parse_mobile_number("+447400123456") == "+447400123456"
    with pytest.raises(ValidationError) as refused:
        parse_mobile_number("+33612345678")
    assert refused.value.code == "country"


def test_parse_allows_every_country_by_default():
    assert parse_mobile_number("+819012345678") == "+819012345678"


@pytest.mark.parametrize(("typed", "error"), [row for row in INVALID_NUMBERS if row[0]])
def test_form_shows_clear_error_for_bad_number(typed, error):
    form = PhoneNumberForm({"number": typed})

    assert not form.is_valid()
    assert form.errors["number"] == [str(ERRORS[error])]


def test_form_requires_a_number():
    form = PhoneNumberForm({"number": ""})

    assert not form.is_valid()
    assert form.errors["number"] == ["Enter your mobile number."]


@pytest.mark.parametrize(("e164", "masked"), [
    ("+14155552671", "•••• ••• 2671"),
    ("+447400123456", "•••• ••• 3456"),
    ("+5511912345678", "•••• ••• 5678"),
])
def test_mask_number_shows_only_last_four_digits(e164, masked):
    assert mask_number(e164) == masked
