from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupCodesConfig(AppConfig):
    name = "mfa.backup_codes"
    label = "mfa_backup_codes"
    verbose_name = _("Backup Codes")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mfa.backup_codes import audit_events  # noqa: F401 - names its events in the Security Log
