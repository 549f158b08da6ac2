from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TotpConfig(AppConfig):
    name = "mfa.totp"
    label = "mfa_totp"
    verbose_name = _("Google Authenticator")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mfa.totp import audit_events  # noqa: F401 - names its events in the Security Log
