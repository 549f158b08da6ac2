"""The gateway interface: send one text or raise GatewayError."""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class TextMessage:
    to: str  # E.164
    body: str


@dataclass(frozen=True)
class Receipt:
    """What the gateway tells us about an accepted text (never the body)."""

    gateway: str
    reference: str = ""  # Twilio's message SID, the outbox row id, ...


# Stable error codes -> the reason the person reads after "We could not send
# the text: ". Each says what to do; "or use another method" keeps a way in
# when texts cannot be sent.
ERROR_MESSAGES = {
    "invalid_number": _("This phone number is not valid. Check the number."),
    "not_mobile": _("This number cannot receive text messages (it may be a landline). Use a mobile number."),
    "country_blocked": _("We cannot send text messages to this country. Use another method."),
    "busy": _("The text message service is busy. Press “Resend code” in a minute, or use another method."),
    "unavailable": _("The text message service is not available right now. "
                     "Press “Resend code” shortly, or use another method."),
    "timeout": _("The text message service did not answer in time. Press “Resend code”, or use another method."),
    "not_configured": _("Text messages are not set up on this server. Use another method."),
    "failed": _("The text message could not be sent. Press “Resend code”, or use another method."),
}


class GatewayError(Exception):
    """A text was not sent. ``code`` is stable; ``detail`` is safe to log and audit."""

    def __init__(self, code: str, *, detail: dict | None = None):
        super().__init__(code)
        self.code = code if code in ERROR_MESSAGES else "failed"
        self.detail = detail or {}

    @property
    def message(self) -> str:
        return str(ERROR_MESSAGES[self.code])

    @property
    def permanent(self) -> bool:
        """True when trying again cannot help (the number, the country or our set-up is wrong)."""
        return self.code in {"invalid_number", "not_mobile", "country_blocked", "not_configured"}

    @property
    def about_number(self) -> bool:
        """True when the number itself is the problem (show it on the number field)."""
        return self.code in {"invalid_number", "not_mobile", "country_blocked"}


class BaseGateway:
    """Subclasses send one text and return a Receipt, or raise GatewayError."""

    name = "base"

    def send(self, message: TextMessage) -> Receipt:
        raise NotImplementedError
