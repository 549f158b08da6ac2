"""The "twilio" gateway drives the real twilio SDK against a fake Messages API."""
import logging

import pytest

from mfa.sms.gateways import GatewayError, TextMessage, get_gateway
from mfa.sms.gateways.twilio import BaseURLHttpClient, TwilioGateway

TEXT = TextMessage(to="+14155552671", body="Your CallTrackingMetrics verification code is 123456.\n\n@testserver #123456")


def test_send_posts_exact_form_fields_with_from_number(fake_twilio):
    receipt = get_gateway().send(TEXT)

    [request] = fake_twilio.messages
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert request.form == {"To": "+14155552671", "From": "+15005550006", "Body": TEXT.body}
    assert request.auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"].startswith("twilio-python/")
    assert receipt.gateway == "twilio" and receipt.reference.startswith("SM")


def test_send_uses_messaging_service_when_set(fake_twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32

    get_gateway().send(TEXT)

    assert fake_twilio.messages[0].form == {"To": "+14155552671", "MessagingServiceSid": "MG" + "0" * 32,
                                            "Body": TEXT.body}


@pytest.mark.parametrize(("twilio_code", "error"), [
    (21211, "invalid_number"),
    (21614, "not_mobile"),
    (21408, "country_blocked"),
    (20429, "busy"),
])
def test_send_maps_twilio_error_codes(fake_twilio, twilio_code, error):
    fake_twilio.fail_next(twilio_code)

    with pytest.raises(GatewayError) as failed:
        get_gateway().send(TEXT)

    assert failed.value.code == error
    assert failed.value.detail["twilio_code"] == twilio_code
    assert len(fake_twilio.messages) == 1


@pytest.mark.parametrize(("status", "error"), [(429, "busy"), (500, "unavailable"), (503, "unavailable")])
def test_send_maps_http_errors(fake_twilio, status, error):
    fake_twilio.fail_next_status(status)

    with pytest.raises(GatewayError) as failed:
        get_gateway().send(TEXT)

    assert failed.value.code == error
    assert failed.value.detail["status"] == status


def test_send_times_out_with_explicit_sdk_timeout(fake_twilio, settings):
    settings.MFA_SMS_TWILIO_TIMEOUT = 0.3
    fake_twilio.hold_next()

    with pytest.raises(GatewayError) as failed:
        get_gateway().send(TEXT)

    assert failed.value.code == "timeout"


def test_client_carries_the_configured_timeout(fake_twilio, settings):
    settings.MFA_SMS_TWILIO_TIMEOUT = 4.5

    assert TwilioGateway().client().http_client.timeout == 4.5


def test_send_with_wrong_credentials_is_a_failure(fake_twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong-token"

    with pytest.raises(GatewayError) as failed:
        get_gateway().send(TEXT)

    assert failed.value.code == "failed"
    assert failed.value.detail == {"status": 401, "twilio_code": 20003}


def test_send_to_unreachable_service_is_unavailable(fake_twilio, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens

    with pytest.raises(GatewayError) as failed:
        get_gateway().send(TEXT)

    assert failed.value.code == "unavailable"


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"])
def test_send_without_configuration_is_refused_before_any_request(fake_twilio, settings, missing):
    setattr(settings, missing, "")

    with pytest.raises(GatewayError) as failed:
        get_gateway().send(TEXT)

    assert failed.value.code == "not_configured"
    assert fake_twilio.messages == []


def test_logs_never_contain_the_code_or_the_auth_token(fake_twilio, caplog):
    caplog.set_level(logging.DEBUG)
    get_gateway().send(TEXT)
    fake_twilio.fail_next(21211)
    with pytest.raises(GatewayError):
        get_gateway().send(TEXT)

    assert caplog.records  # the SDK does log its requests
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "123456" not in logged
    assert fake_twilio.auth_token not in logged


@pytest.mark.parametrize(("base", "url", "expected"), [
    ("http://127.0.0.1:8123", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
     "http://127.0.0.1:8123/2010-04-01/Accounts/AC1/Messages.json"),
    ("https://api.dublin.ie1.twilio.com/", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
     "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages.json"),
    ("https://proxy.example/twilio", "https://api.twilio.com/2010-04-01/x.json?a=1",
     "https://proxy.example/twilio/2010-04-01/x.json?a=1"),
    ("", "https://api.twilio.com/2010-04-01/x.json", "https://api.twilio.com/2010-04-01/x.json"),
])
def test_base_url_replaces_scheme_and_host_only(base, url, expected):
    assert BaseURLHttpClient(base_url=base).rebase(url) == expected


def test_backend_setting_picks_gateway_like_email_backend(settings):
    settings.MFA_SMS_BACKEND = "console"
    assert type(get_gateway()).__name__ == "ConsoleGateway"
    settings.MFA_SMS_BACKEND = "mfa.sms.gateways.twilio.TwilioGateway"
    assert type(get_gateway()).__name__ == "TwilioGateway"


def test_console_gateway_prints_the_text(capsys, settings):
    settings.MFA_SMS_BACKEND = "console"

    get_gateway().send(TEXT)

    assert TEXT.body in capsys.readouterr().out
