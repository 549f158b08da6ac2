"""The audit events shared by every method, in words (loaded from MfaConfig.ready)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit_events import METHODS, register_event
from mfa.flows import BACKUP_METHODS_DESTROYED


def register() -> None:
    register_event(BACKUP_METHODS_DESTROYED, METHODS,
                   lambda w: w.own_or_other(
                       _("The backup codes of %(target)s were destroyed: no two-factor method is left"),
                       _("The backup codes of %(target)s were destroyed when %(actor)s disabled their last method")),
                   label=gettext_lazy("Backup codes destroyed (no method left)"))


register()
