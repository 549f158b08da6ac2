from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor authentication"

    def ready(self) -> None:
        from mfa import audit_events  # noqa: F401 - names the shared events in the Security Log
