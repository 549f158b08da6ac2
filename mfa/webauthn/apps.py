from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebAuthnConfig(AppConfig):
    name = "mfa.webauthn"
    label = "mfa_webauthn"
    verbose_name = _("Passkeys and security keys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mfa.webauthn import audit_events, checks  # noqa: F401 - names the events, registers the checks
