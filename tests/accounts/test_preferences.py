"""Profile > Preferences: language and time zone, applied to every page of the signed-in user."""
import re

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditEvent
from ctm_auth.dates import format_when
from tests.conftest import sign_in

PREFERENCES = reverse("accounts:preferences")
PROFILE = reverse("accounts:profile")
LOGIN = reverse("accounts:login")


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


def last_sign_in_shown(user, *, language: str, zone: str) -> str:
    """The Profile's latest sign-in time as the user should read it."""
    event = AuditEvent.objects.filter(target_user=user).latest("created_at")
    with translation.override(language), timezone.override(zone):
        return format_when(event.created_at)


def month_in(language: str, moment) -> str:
    """The month's abbreviation from Django's own catalogs ("dic" in Spanish), not the project's."""
    from django.utils.dateformat import format as django_format

    with translation.override(language):
        return django_format(moment, "b")


# --- the form ---------------------------------------------------------------

def test_profile_offers_languages_and_every_time_zone_with_the_agency_zone_first(client, acme):
    acme.agency.time_zone = "America/New_York"
    acme.agency.save()
    sign_in(client, acme.alice)

    page = client.get(PROFILE).content.decode()

    assert 'id="preferences"' in page
    assert '<option value="" selected>Browser&#x27;s language</option>' in page
    assert '<option value="es">Español</option>' in page
    assert '<option value="" selected>Agency&#x27;s time zone (America/New_York)</option>' in page
    assert '<option value="Europe/Madrid">Europe/Madrid</option>' in page


def test_save_preferences_stores_them_and_sets_the_language_cookie(signed_in_client, user):
    response = signed_in_client.post(PREFERENCES, {"language": "es", "time_zone": "Europe/Madrid"})

    assert response.status_code == 302 and response.url == PROFILE + "#preferences"
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("es", "Europe/Madrid")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"


def test_save_preferences_with_an_unknown_time_zone_is_refused_and_changes_nothing(signed_in_client, user):
    response = signed_in_client.post(PREFERENCES, {"language": "es", "time_zone": "Mars/Olympus_Mons"})

    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    assert html_lang(response) == "en"  # the refused language was not applied either
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("", "")


def test_save_preferences_with_an_unknown_language_is_refused(signed_in_client, user):
    response = signed_in_client.post(PREFERENCES, {"language": "xx", "time_zone": ""})

    assert response.status_code == 400
    assert "Choose a language from the list." in response.content.decode()
    user.refresh_from_db()
    assert user.language == ""


def test_browser_language_choice_forgets_the_language_cookie(signed_in_client, user):
    signed_in_client.post(PREFERENCES, {"language": "es", "time_zone": ""})

    response = signed_in_client.post(PREFERENCES, {"language": "", "time_zone": ""})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""  # deleted
    assert html_lang(signed_in_client.get(PROFILE, HTTP_ACCEPT_LANGUAGE="en")) == "en"


# --- the middleware ---------------------------------------------------------

def test_user_who_chose_spanish_gets_spanish_pages_whatever_the_browser_asks(client, user):
    user.language = "es"
    user.save()
    sign_in(client, user)

    response = client.get(PROFILE, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    assert html_lang(response) == "es"
    assert response["Content-Language"] == "es"
    event = AuditEvent.objects.filter(target_user=user).latest("created_at")
    page = response.content.decode()
    # Django's own Spanish month name, so this holds before the project's catalogs exist.
    assert last_sign_in_shown(user, language="es", zone="UTC") in page
    assert f" {month_in('es', event.created_at)} " in page


def test_user_time_zone_is_applied_to_the_dates_on_pages(client, user):
    user.time_zone = "America/New_York"
    user.save()
    sign_in(client, user)

    page = client.get(PROFILE).content.decode()

    expected = last_sign_in_shown(user, language="en", zone="America/New_York")
    assert re.search(r" E[SD]T$", expected)
    assert expected in page


def test_member_without_a_zone_reads_dates_in_the_agency_zone(client, acme):
    acme.agency.time_zone = "Asia/Tokyo"
    acme.agency.save()
    sign_in(client, acme.bob)

    page = client.get(PROFILE).content.decode()

    assert last_sign_in_shown(acme.bob, language="en", zone="Asia/Tokyo") in page
    assert " JST</time>" in page


def test_a_new_agency_zone_shows_at_the_members_next_page(client, acme):
    sign_in(client, acme.bob)
    assert " UTC</time>" in client.get(PROFILE).content.decode()  # cached now

    acme.agency.time_zone = "Asia/Tokyo"
    acme.agency.save()

    assert " JST</time>" in client.get(PROFILE).content.decode()


def test_own_zone_wins_over_the_agency_zone(client, acme):
    acme.agency.time_zone = "Asia/Tokyo"
    acme.agency.save()
    acme.bob.time_zone = "Europe/Madrid"
    acme.bob.save()
    sign_in(client, acme.bob)

    page = client.get(PROFILE).content.decode()

    assert last_sign_in_shown(acme.bob, language="en", zone="Europe/Madrid") in page
    assert "JST" not in page


def test_signed_in_language_stays_after_signing_out(client, user):
    user.language = "es"
    user.save()
    sign_in(client, user)
    client.get(PROFILE)

    client.post(reverse("accounts:logout"))

    assert html_lang(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")) == "es"


# --- set_language, before signing in ------------------------------------------

def test_set_language_turns_signed_out_pages_spanish(client, db):
    assert html_lang(client.get(LOGIN)) == "en"

    response = client.post(reverse("set_language"), {"language": "es", "next": LOGIN})

    assert response.status_code == 302 and response.url == LOGIN
    assert html_lang(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")) == "es"


def test_set_language_refuses_a_next_url_off_the_site(client, db):
    response = client.post(reverse("set_language"), {"language": "es", "next": "https://evil.example/"})

    assert response.status_code == 302 and response.url == "/"


def test_agency_zone_is_read_from_the_database_once_then_from_the_cache(client, acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def zone_reads(queries) -> int:
        # agencies.memberships: the one query the zone, the policy and the menu are computed from.
        return sum('"agencies_agency"."time_zone"' in q["sql"] for q in queries.captured_queries)

    sign_in(client, acme.bob)
    cache.clear()  # the cached answer from signing in
    with CaptureQueriesContext(connection) as first:
        client.get(PROFILE)
    with CaptureQueriesContext(connection) as second:
        client.get(PROFILE)

    assert (zone_reads(first), zone_reads(second)) == (1, 0)


def test_the_time_zone_list_is_the_select_djangos_widget_would_write():
    """TimeZoneSelect writes its options once per process, for speed; the page must not tell the difference."""
    import re

    from django import forms

    from accounts.forms import TimeZoneSelect
    from accounts.preferences import time_zone_names

    blank = "Agency's time zone (America/New_York) & <more>"
    choices = [("", blank), *((zone, zone) for zone in sorted(time_zone_names()))]
    attrs = {"id": "id_time_zone", "aria-invalid": "true", "aria-describedby": "id_time_zone_error", "required": True}
    for value in ("UTC", "Europe/Madrid", "", None, "Nowhere/Else"):
        django_select = forms.Select(choices=choices).render("time_zone", value, dict(attrs))
        ours = TimeZoneSelect()
        ours.blank_label = blank

        assert re.sub(r">\s+<", "><", django_select.strip()) == ours.render("time_zone", value, dict(attrs))
