"""The start-up checks on the relying party (mfa/webauthn/checks.py); manage.py check itself is in test_deploy."""
import pytest
from django.core import checks

from mfa.webauthn.checks import check_relying_party


def ids(errors) -> list[str]:
    return [error.id for error in errors]


@pytest.fixture
def production(settings):
    """As production runs: nothing taken from a request's Host header."""
    settings.MFA_WEBAUTHN_TRUST_REQUEST_HOST = False
    settings.MFA_WEBAUTHN_RP_ID = "app.example.com"
    settings.MFA_WEBAUTHN_ORIGINS = ["https://app.example.com"]
    return settings


def test_a_named_relying_party_on_https_passes(production):
    assert check_relying_party(None) == []


def test_a_subdomain_origin_of_the_rp_id_passes(production):
    production.MFA_WEBAUTHN_RP_ID = "example.com"
    production.MFA_WEBAUTHN_ORIGINS = ["https://app.example.com", "https://example.com"]

    assert check_relying_party(None) == []


def test_missing_rp_id_and_origins_are_errors_when_the_request_is_not_trusted(production):
    production.MFA_WEBAUTHN_RP_ID = ""
    production.MFA_WEBAUTHN_ORIGINS = []

    errors = check_relying_party(None)

    assert ids(errors) == ["mfa_webauthn.E001", "mfa_webauthn.E002"]
    assert all(isinstance(error, checks.Error) for error in errors)
    assert "WEBAUTHN_RP_ID" in errors[0].hint and "WEBAUTHN_ORIGINS" in errors[1].hint


def test_a_missing_rp_id_alone_is_e001(production):
    production.MFA_WEBAUTHN_RP_ID = ""

    assert ids(check_relying_party(None)) == ["mfa_webauthn.E001"]


def test_development_may_leave_both_to_the_request(settings):
    settings.MFA_WEBAUTHN_TRUST_REQUEST_HOST = True
    settings.MFA_WEBAUTHN_RP_ID = ""
    settings.MFA_WEBAUTHN_ORIGINS = []

    assert check_relying_party(None) == []


@pytest.mark.parametrize("origin", ["http://app.example.com", "ftp://app.example.com"])
def test_an_origin_that_is_not_https_is_e003(production, origin):
    production.MFA_WEBAUTHN_ORIGINS = [origin]

    errors = check_relying_party(None)

    assert ids(errors) == ["mfa_webauthn.E003"] and origin in errors[0].msg


def test_http_on_localhost_is_allowed(production):
    production.MFA_WEBAUTHN_RP_ID = "localhost"
    production.MFA_WEBAUTHN_ORIGINS = ["http://localhost:8000"]

    assert check_relying_party(None) == []


@pytest.mark.parametrize("origin", [
    "https://evil.example",
    "https://notapp.example.com",  # ends with the RP id, but is not a subdomain of it
    "https://example.com",  # the parent of the RP id, not under it
])
def test_an_origin_off_the_rp_id_is_e004(production, origin):
    production.MFA_WEBAUTHN_ORIGINS = ["https://app.example.com", origin]

    errors = check_relying_party(None)

    assert ids(errors) == ["mfa_webauthn.E004"] and origin in errors[0].msg


def test_a_wrong_origin_on_http_is_both_e003_and_e004(production):
    production.MFA_WEBAUTHN_ORIGINS = ["http://evil.example"]

    assert ids(check_relying_party(None)) == ["mfa_webauthn.E003", "mfa_webauthn.E004"]


def test_the_check_is_registered_with_the_security_checks(production):
    production.MFA_WEBAUTHN_RP_ID = ""

    found = checks.run_checks(tags=[checks.Tags.security])

    assert "mfa_webauthn.E001" in ids(found)
