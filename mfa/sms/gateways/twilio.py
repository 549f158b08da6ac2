"""Send texts through Twilio's Messages API with the official `twilio` SDK.

TWILIO_API_BASE_URL is honoured through the SDK's own extension point, the
``http_client`` argument of ``twilio.rest.Client``: our HTTP client is the
SDK's TwilioHttpClient with the scheme and host of each request URL
replaced. TWILIO_EDGE / TWILIO_REGION only rewrite parts of a *.twilio.com
host name, so they cannot point the SDK at a local fake or a proxy.
"""
import logging
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from mfa.sms.app_settings import app_settings
from mfa.sms.gateways.base import BaseGateway, GatewayError, Receipt, TextMessage

logger = logging.getLogger(__name__)

# Twilio error codes we explain to the person: https://www.twilio.com/docs/api/errors
TWILIO_ERROR_CODES = {
    21211: "invalid_number",   # Invalid 'To' phone number
    21614: "not_mobile",       # 'To' number is not a valid mobile number (landline, unreachable)
    21408: "country_blocked",  # Permission to send an SMS has not been enabled for the region
    20429: "busy",             # Too many requests
}


class BaseURLHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends every request to ``base_url`` instead of *.twilio.com."""

    def __init__(self, base_url: str = "", **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def rebase(self, url: str) -> str:
        if not self.base_url:
            return url
        base, original = urlsplit(self.base_url), urlsplit(url)
        return urlunsplit((base.scheme, base.netloc, base.path + original.path, original.query, ""))

    def request(self, method: str, url: str, *args, **kwargs):
        return super().request(method, self.rebase(url), *args, **kwargs)


class TwilioGateway(BaseGateway):
    name = "twilio"

    def __init__(self, *, settings=app_settings):
        self.settings = settings

    def client(self) -> Client:
        """Build the SDK client with an explicit timeout (the SDK default waits forever)."""
        sid, token = self.settings.TWILIO_ACCOUNT_SID, self.settings.TWILIO_AUTH_TOKEN
        if not sid or not token:
            raise GatewayError("not_configured", detail={"missing": "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN"})
        http_client = BaseURLHttpClient(
            base_url=self.settings.TWILIO_API_BASE_URL, timeout=self.settings.TWILIO_TIMEOUT
        )
        return Client(username=sid, password=token, account_sid=sid, http_client=http_client)

    def sender(self) -> dict:
        """Return the sender fields: a Messaging Service wins over a From number."""
        if self.settings.TWILIO_MESSAGING_SERVICE_SID:
            return {"messaging_service_sid": self.settings.TWILIO_MESSAGING_SERVICE_SID}
        if self.settings.TWILIO_FROM_NUMBER:
            return {"from_": self.settings.TWILIO_FROM_NUMBER}
        raise GatewayError("not_configured", detail={"missing": "TWILIO_FROM_NUMBER/TWILIO_MESSAGING_SERVICE_SID"})

    def send(self, message: TextMessage) -> Receipt:
        client, sender = self.client(), self.sender()
        try:
            created = client.messages.create(to=message.to, body=message.body, **sender)
        except TwilioRestException as exc:
            raise self.rest_error(exc) from None
        except requests.Timeout:
            raise GatewayError("timeout", detail={"timeout": self.settings.TWILIO_TIMEOUT}) from None
        except requests.RequestException as exc:
            raise GatewayError("unavailable", detail={"exception": type(exc).__name__}) from None
        except TwilioException as exc:
            raise GatewayError("failed", detail={"exception": type(exc).__name__}) from None
        return Receipt(gateway=self.name, reference=created.sid or "")

    @staticmethod
    def rest_error(exc: TwilioRestException) -> GatewayError:
        """Map Twilio's answer to a stable code. Twilio's own text is not kept: it repeats the number."""
        status = int(exc.status or 0)
        twilio_code = exc.code if isinstance(exc.code, int) else None
        detail = {"status": status, "twilio_code": twilio_code}
        if twilio_code in TWILIO_ERROR_CODES:
            return GatewayError(TWILIO_ERROR_CODES[twilio_code], detail=detail)
        if status == 429:
            return GatewayError("busy", detail=detail)
        if status >= 500:
            return GatewayError("unavailable", detail=detail)
        return GatewayError("failed", detail=detail)
