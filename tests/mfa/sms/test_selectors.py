"""The country preselected beside the mobile number: the agency's, then the language's region, then the US."""
import pytest
from django.test import RequestFactory

from agencies.flows import add_member, create_agency, set_two_factor_policy
from agencies.models import Role
from mfa.sms.selectors import default_region
from tests.conftest import add_fake_device, ensure_plans
from tests.mfa.sms.conftest import flow_request

pytestmark = pytest.mark.django_db


def request_of(user, *, accept_language: str = "", language_code: str = "en"):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=accept_language)
    request.user = user
    request.LANGUAGE_CODE = language_code
    return request


def agency(name: str, country: str, owner):
    ensure_plans()
    created = create_agency(name=name, plan_code="growth", owner=owner)
    created.country = country  # no flow sets the country yet
    created.save(update_fields=["country"])
    return created


def test_default_region_is_the_agencys_country(user):
    agency("Brit Agency", "GB", user)

    assert default_region(request_of(user, accept_language="es-MX")) == "GB"


def test_default_region_of_several_agencies_is_the_first_joined(user, make_user):
    agency("First", "CA", user)
    agency("Second", "GB", make_user("other@example.test"))
    add_member(agency=agency("Third", "DE", make_user("third@example.test")), user=user, role=Role.USER)

    assert default_region(request_of(user)) == "CA"


def test_default_region_prefers_the_agency_that_requires_two_factor(user, make_user):
    agency("First", "CA", user)
    owner = make_user("owner@example.test")
    requiring = agency("Requiring", "GB", owner)
    add_member(agency=requiring, user=user, role=Role.USER)
    add_fake_device(owner)  # an Owner turns two-factor on for themselves first
    set_two_factor_policy(flow_request(owner), actor=owner, agency=requiring, required=True, grace_days=7)

    assert default_region(request_of(user)) == "GB"


@pytest.mark.parametrize(("accept_language", "language_code", "region"), [
    ("es-MX,es;q=0.9", "es", "MX"),
    ("en-GB,en;q=0.8", "en", "GB"),
    ("fr,de-AT;q=0.5", "en", "AT"),   # the first language that names a country
    ("es-419,es;q=0.9", "es", "US"),  # Latin America is no country: the US
    ("", "es", "US"),
    ("xx-QQ", "en", "US"),            # no such region
])
def test_default_region_without_agency_follows_the_language(user, accept_language, language_code, region):
    assert default_region(request_of(user, accept_language=accept_language, language_code=language_code)) == region


def test_default_region_follows_the_users_language_before_the_browsers(user):
    user.language = "es-MX"

    assert default_region(request_of(user, accept_language="en-GB")) == "MX"


def test_default_region_is_an_allowed_country(user, settings):
    settings.MFA_SMS_ALLOWED_COUNTRIES = ["CA", "GB"]
    agency("Yankee", "US", user)

    assert default_region(request_of(user, accept_language="en-GB")) == "GB"
