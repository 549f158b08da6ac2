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


@pytest.mark.parametrize(("typed", "error"), [row for row in INVALID_NUMBERS if row[0] and row[1] != "international"])
def test_form_shows_clear_error_for_bad_number(typed, error):
    form = PhoneNumberForm({"number": typed})

    assert not form.is_valid()
    assert form.errors["number"] == [str(ERRORS[error])]


def test_form_requires_a_number():
    form = PhoneNumberForm({"number": ""})

    assert not form.is_valid()
    assert form.errors["number"] == ["Enter your mobile number."]


@pytest.mark.parametrize(("e164", "masked"), [
    ("+14155552671", "+1 •••-•••-2671"),
    ("+447400123456", "+44 •••• ••3456"),
    ("+5511912345678", "+55 •• •••••-5678"),
])
def test_mask_number_shows_only_last_four_digits(e164, masked):
    assert mask_number(e164) == masked


# -- national numbers, read in the chosen country --------------------------------

@pytest.mark.parametrize(("typed", "region", "e164"), [
    ("(415) 555-2671",       "US", "+14155552671"),
    ("415.555.2671",         "US", "+14155552671"),
    ("1 415 555 2671",       "US", "+14155552671"),   # with the US trunk prefix
    ("011 44 7400 123456",   "US", "+447400123456"),  # the US international prefix
    ("07400 123456",         "GB", "+447400123456"),
    ("0044 7400 123456",     "GB", "+447400123456"),  # the GB international prefix
    ("222 123 4567",         "MX", "+522221234567"),
    ("+44 7400 123456",      "US", "+447400123456"),  # "+" wins over the chosen country
    ("+1 415 555 2671",      "GB", "+14155552671"),
])
def test_parse_national_number_in_chosen_country(typed, region, e164):
    assert parse_mobile_number(typed, region) == e164


def test_parse_invalid_national_number_names_the_chosen_country():
    with pytest.raises(ValidationError) as refused:
        parse_mobile_number("415 555 267", "US")

    assert refused.value.code == "invalid_in_country"
    assert refused.value.messages == [
        "This is not a valid phone number in United States. Check it, or choose its country, "
        "or start with + and the country code."
    ]


def test_parse_national_landline_is_refused_as_not_mobile():
    with pytest.raises(ValidationError) as refused:
        parse_mobile_number("020 7946 0000", "GB")

    assert refused.value.code == "not_mobile"


def test_form_reads_national_number_in_posted_country():
    form = PhoneNumberForm({"country": "GB", "number": "07400 123456"}, region="US")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["number"] == "+447400123456"


def test_form_reads_number_in_preselected_country_when_none_is_posted():
    form = PhoneNumberForm({"number": "07400 123456"}, region="GB")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["number"] == "+447400123456"


def test_form_plus_number_wins_over_selected_country():
    form = PhoneNumberForm({"country": "US", "number": "+44 7400 123456"}, region="US")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["number"] == "+447400123456"


def test_form_refuses_a_country_not_on_the_list():
    form = PhoneNumberForm({"country": "ZZ", "number": "(415) 555-2671"}, region="US")

    assert not form.is_valid()
    assert "country" in form.errors


def test_form_placeholder_is_the_selected_countrys_example_mobile():
    assert PhoneNumberForm(region="US").fields["number"].widget.attrs["placeholder"] == "(201) 555-0123"
    assert PhoneNumberForm(region="GB").fields["number"].widget.attrs["placeholder"] == "07400 123456"
    posted_gb = PhoneNumberForm({"country": "GB", "number": "x"}, region="US")
    assert posted_gb.fields["number"].widget.attrs["placeholder"] == "07400 123456"


def test_form_help_text_matches_the_country_selector():
    field = PhoneNumberForm(region="US")["number"]

    assert field.help_text == "Your mobile number. Include the country code if it’s outside the selected country."
    assert 'aria-describedby="id_number_helptext"' in str(field)


def test_country_choices_name_each_country_with_its_calling_code():
    choices = dict(PhoneNumberForm(region="US").fields["country"].choices)

    assert choices["US"] == "United States (+1)"
    assert choices["GB"] == "United Kingdom (+44)"
    assert choices["XK"] == "Kosovo (+383)"  # one phonenumbers has no name for


def test_country_choices_follow_the_active_language():
    from django.utils import translation

    with translation.override("es"):
        choices = dict(PhoneNumberForm(region="US").fields["country"].choices)

    assert choices["US"] == "Estados Unidos (+1)"
    assert choices["DE"] == "Alemania (+49)"


def test_country_choices_keep_to_allowed_countries(settings):
    settings.MFA_SMS_ALLOWED_COUNTRIES = ["gb", "CA"]

    form = PhoneNumberForm(region="US")  # the US is not allowed: the first allowed country instead

    assert [code for code, _label in form.fields["country"].choices] == ["CA", "GB"]
    assert form.fields["country"].initial == "CA"
