from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessPassConfig(AppConfig):
    name = "mfa.access_pass"
    label = "mfa_access_pass"
    verbose_name = _("Temporary access pass")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        # The Celery worker only autodiscovers accounts' tasks: importing ours
        # here registers the expiry task wherever Django is set up.
        from mfa.access_pass import gate, tasks  # noqa: F401

        user_logged_in.connect(gate.on_user_logged_in, dispatch_uid="mfa.access_pass.logged_in")
