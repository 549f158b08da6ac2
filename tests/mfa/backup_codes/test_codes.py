"""What a backup code is: entropy, alphabet, display form, normalisation and the keyed lookup hash."""
import math
import re

import pytest

from mfa.backup_codes import codes
from mfa.base import secret_codes

CODE_SHAPE = re.compile(r"^[23456789abcdefghjkmnpqrstuvwxyz]{6}-[23456789abcdefghjkmnpqrstuvwxyz]{6}$")


def test_generate_gives_at_least_50_bits_of_entropy():
    assert math.log2(len(set(codes.ALPHABET))) * codes.LENGTH >= 50
    assert codes.entropy_bits() >= 50
    assert len(codes.generate()) == codes.LENGTH


def test_generate_uses_unambiguous_lower_case_alphabet():
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET)
    assert codes.ALPHABET == codes.ALPHABET.lower()
    assert not set(codes.ALPHABET) & set("01ilo")
    drawn = "".join(codes.generate() for _ in range(400))
    assert set(drawn) <= set(codes.ALPHABET)
    # 4,800 draws from 31 symbols: every symbol shows up (the chance one is missing is ~1e-66).
    assert set(drawn) == set(codes.ALPHABET)


def test_generate_draws_from_secrets(monkeypatch):
    calls = []

    def fake_choice(alphabet):
        calls.append(alphabet)
        return alphabet[0]

    monkeypatch.setattr(secret_codes.secrets, "choice", fake_choice)
    assert codes.generate() == codes.ALPHABET[0] * codes.LENGTH
    assert len(calls) == codes.LENGTH


def test_display_shows_two_groups_with_a_dash():
    shown = codes.display(codes.generate())
    assert CODE_SHAPE.match(shown), shown
    assert codes.display("7hx4km2q9pab") == "7hx4km-2q9pab"


@pytest.mark.parametrize("typed", [
    "7hx4km-2q9pab", "7hx4km2q9pab", "7HX4KM-2Q9PAB", " 7hx4km 2q9pab ", "7hx4 km2q 9pab",
    "7hx4km - 2q9pab", "7hx4km--2q9pab", "\t7hx4km-2q9pab\n",
])
def test_normalise_ignores_case_spaces_and_dashes(typed):
    assert codes.normalise(typed) == "7hx4km2q9pab"


@pytest.mark.parametrize("typed, error", [
    ("", "empty"),
    ("   ", "empty"),
    ("7" * 1000, "too_long"),
    ("7hx4km-2q9p\u0430b", "non_ascii"),          # Cyrillic small a
    ("\uff17\uff48\uff58\uff14\uff4b\uff4d-2q9pab", "non_ascii"),  # full-width 7hx4km
    ("7hx4km\u20132q9pab", "non_ascii"),          # en dash
    ("7hx4km\u00a02q9pab", "non_ascii"),          # no-break space
    ("7hx4km-2q9pa", "invalid_format"),           # one short
    ("7hx4km-2q9pabc", "invalid_format"),         # one long
    ("7hx4km-2q9pa0", "invalid_format"),          # zero is not in the alphabet
    ("7hx4km-2q9pao", "invalid_format"),          # nor is the letter o
    ("7hx4km_2q9pab", "invalid_format"),
])
def test_normalise_refuses_what_cannot_be_a_code(typed, error):
    with pytest.raises(codes.InvalidInput) as refused:
        codes.normalise(typed)
    assert refused.value.error == error
    assert refused.value.message  # a sentence for the user, never empty


def test_normalise_does_not_fold_look_alikes_into_ascii():
    # NFKC would turn full-width letters into ASCII ones; we refuse them instead.
    import unicodedata

    full_width = "\uff17\uff48\uff58\uff14\uff4b\uff4d\uff12\uff51\uff19\uff50\uff41\uff42"
    assert unicodedata.normalize("NFKC", full_width) == "7hx4km2q9pab"
    with pytest.raises(codes.InvalidInput):
        codes.normalise(full_width)


def test_lookup_hash_is_keyed_and_bound_to_the_user(settings):
    first = codes.lookup_hash(1, "7hx4km2q9pab")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert "7hx4km2q9pab" not in first
    assert codes.lookup_hash(2, "7hx4km2q9pab") != first
    settings.MFA_BACKUP_CODES_HASH_KEY = "another key entirely"
    assert codes.lookup_hash(1, "7hx4km2q9pab") != first


def test_candidate_hashes_include_fallback_keys(settings):
    settings.MFA_BACKUP_CODES_HASH_KEY = "old key"
    old = codes.lookup_hash(1, "7hx4km2q9pab")
    settings.MFA_BACKUP_CODES_HASH_KEY = "new key"
    settings.MFA_BACKUP_CODES_HASH_KEY_FALLBACKS = ["old key"]
    assert codes.candidate_hashes(1, "7hx4km2q9pab") == [codes.lookup_hash(1, "7hx4km2q9pab"), old]
