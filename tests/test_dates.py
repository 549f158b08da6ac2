"""ctm_auth.dates and its filters: one format, in the reader's zone, with the zone named."""
from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from ctm_auth.dates import format_day, format_when

NOON_29 = datetime(2026, 12, 2, 12, 29, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def shown(value, *, language="en", zone="UTC", fmt=format_when) -> str:
    with translation.override(language), timezone.override(zone):
        return fmt(value)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "2 Dec 2026, 12:29 UTC"),
    ("es", "2 dic 2026, 12:29 UTC"),
])
def test_when_shows_day_month_year_time_and_zone(language, expected):
    assert shown(NOON_29, language=language) == expected


@pytest.mark.parametrize(("moment", "expected"), [
    (NOON_29, "2 Dec 2026, 07:29 EST"),
    (SUMMER, "1 Jul 2026, 08:00 EDT"),
])
def test_when_follows_daylight_saving_time_of_the_zone(moment, expected):
    assert shown(moment, zone="America/New_York") == expected


def test_when_names_a_zone_without_abbreviation_by_its_offset():
    assert shown(NOON_29, zone="America/Bogota") == "2 Dec 2026, 07:29 UTC-05"


def test_when_has_no_period_to_double_at_the_end_of_a_sentence():
    # The old DATETIME_FORMAT gave "12:29 p.m." and the sentence added its own period.
    text = shown(NOON_29)
    assert "p.m" not in text and not text.endswith(".")


@pytest.mark.parametrize(("value", "language", "zone", "expected"), [
    (date(2026, 12, 2), "en", "UTC", "2 Dec 2026"),
    (date(2026, 12, 2), "es", "UTC", "2 dic 2026"),
    # 03:00 UTC on the 2nd is still the 1st in New York.
    (datetime(2026, 12, 2, 3, 0, tzinfo=UTC), "en", "America/New_York", "1 Dec 2026"),
])
def test_day_shows_the_day_in_the_active_zone(value, language, zone, expected):
    assert shown(value, language=language, zone=zone, fmt=format_day) == expected


def test_none_shows_nothing():
    assert format_when(None) == "" and format_day(None) == ""


def test_filters_are_builtin_on_every_template():
    template = Template("{{ moment|when }} / {{ moment|day }}")  # no {% load %}
    with translation.override("es"), timezone.override("Europe/Madrid"):
        assert template.render(Context({"moment": NOON_29})) == "2 dic 2026, 13:29 CET / 2 dic 2026"
