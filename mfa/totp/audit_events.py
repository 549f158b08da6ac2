"""Google Authenticator's audit events in words (loaded from TotpConfig.ready)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit_events import METHODS, SIGN_IN, Words, register_event
from mfa.totp.flows import TOTP_DISABLED, TOTP_ENABLED, TOTP_REPLACED, TOTP_VERIFICATION_FAILED


def _failed(words: Words) -> str:
    return words.fmt(_("A wrong %(method)s code was entered for %(target)s %(purpose)s (%(error)s)"),
                     purpose=words.purpose, error=words.error)


def register() -> None:
    register_event(TOTP_ENABLED, METHODS,
                   lambda w: w.own_or_other(_("%(actor)s set up %(method)s"), _("%(actor)s set up %(method)s for %(target)s")),
                   label=gettext_lazy("Google Authenticator set up"))
    register_event(TOTP_REPLACED, METHODS,
                   lambda w: w.own_or_other(_("%(actor)s moved %(method)s to a new device"),
                                            _("%(actor)s moved %(method)s of %(target)s to a new device")),
                   label=gettext_lazy("Google Authenticator moved to a new device"))
    register_event(TOTP_DISABLED, METHODS,
                   lambda w: w.own_or_other(_("%(actor)s disabled %(method)s"),
                                            _("%(actor)s disabled %(method)s for %(target)s")),
                   label=gettext_lazy("Google Authenticator disabled"))
    register_event(TOTP_VERIFICATION_FAILED, SIGN_IN, _failed, label=gettext_lazy("Wrong Google Authenticator code"))


register()
