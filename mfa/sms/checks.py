"""Deploy checks (`manage.py check --deploy`) for Text Messages."""
from django.conf import settings
from django.core.checks import Tags, Warning, register

from mfa.sms.gateways import backend_path

_DEVELOPMENT_GATEWAYS = {"mfa.sms.gateways.console.ConsoleGateway", "mfa.sms.gateways.outbox.OutboxGateway"}


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs, **kwargs) -> list:
    """Warn when a development gateway (codes in stdout or in a table, in clear) is deployed."""
    if settings.DEBUG or backend_path() not in _DEVELOPMENT_GATEWAYS:
        return []
    return [Warning(
        "MFA_SMS_BACKEND is a development gateway: texts are not sent and their codes are kept in clear.",
        hint='Set MFA_SMS_BACKEND = "twilio" and the TWILIO_* settings in production.',
        id="mfa_sms.W001",
    )]
