"""Where texts go, chosen by MFA_SMS_BACKEND the way EMAIL_BACKEND chooses a mail backend."""
from django.utils.module_loading import import_string

from mfa.sms.app_settings import BACKEND_ALIASES, app_settings
from mfa.sms.gateways.base import BaseGateway, GatewayError, Receipt, TextMessage

__all__ = ["BaseGateway", "GatewayError", "Receipt", "TextMessage", "get_gateway", "backend_path"]


def backend_path(backend: str | None = None) -> str:
    """Return the dotted path for a backend alias ("twilio") or path."""
    backend = backend or app_settings.BACKEND
    return BACKEND_ALIASES.get(backend, backend)


def get_gateway(backend: str | None = None) -> BaseGateway:
    """Return a new gateway instance; read per send, so settings overrides apply at once."""
    return import_string(backend_path(backend))()
