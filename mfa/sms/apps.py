from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "mfa.sms"
    label = "mfa_sms"
    verbose_name = _("Text Messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.pending_sign_in import sign_in_cancelled
        from mfa.sms import audit_events, checks  # noqa: F401 - names the events, registers the deploy checks
        from mfa.sms.challenges import forget_cancelled_sign_in

        sign_in_cancelled.connect(forget_cancelled_sign_in, dispatch_uid="mfa.sms.cancelled_sign_in")
