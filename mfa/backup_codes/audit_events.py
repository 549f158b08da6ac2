"""Backup Codes' audit events in words (loaded from BackupCodesConfig.ready)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.audit_events import METHODS, SIGN_IN, Words, register_event
from mfa.backup_codes.flows import FAILED, GENERATED, REGENERATED, SAVED, USED, VIEWED


def _generated(words: Words) -> str:
    return words.own_or_other(_("%(actor)s generated %(count)s backup codes"),
                              _("%(actor)s generated %(count)s backup codes for %(target)s"),
                              count=words.data.get("count", ""))


def _regenerated(words: Words) -> str:
    return words.own_or_other(_("%(actor)s replaced their backup codes with %(count)s new ones"),
                              _("%(actor)s replaced the backup codes of %(target)s with %(count)s new ones"),
                              count=words.data.get("count", ""))


_VIA = {"page": gettext_lazy("on the page"), "download": gettext_lazy("as a download")}


def _viewed(words: Words) -> str:
    if words.data.get("via") == "admin" or not words.by_self:
        return words.fmt(_("%(actor)s viewed the backup codes of %(target)s"))
    return words.fmt(_("%(actor)s viewed their backup codes %(via)s"),
                     via=_VIA.get(words.data.get("via", ""), _VIA["page"]))


def _used(words: Words) -> str:
    remaining = words.data.get("remaining")
    line = words.fmt(_("%(actor)s used a backup code %(purpose)s"), purpose=words.purpose)
    if remaining is None:
        return line
    count = remaining if isinstance(remaining, int) else 0  # audit data is JSON: never trust its type
    return line + ngettext(" (%(count)s left)", " (%(count)s left)", count) % {"count": remaining}


def register() -> None:
    register_event(GENERATED, METHODS, _generated, label=gettext_lazy("Backup codes generated"))
    register_event(REGENERATED, METHODS, _regenerated, label=gettext_lazy("Backup codes replaced"))
    register_event(SAVED, METHODS, lambda w: w.fmt(_("%(actor)s confirmed they saved their backup codes")),
                   label=gettext_lazy("Backup codes saved"))
    register_event(VIEWED, METHODS, _viewed, label=gettext_lazy("Backup codes viewed"))
    register_event(USED, SIGN_IN, _used, label=gettext_lazy("Backup code used"))
    register_event(FAILED, SIGN_IN,
                   lambda w: w.fmt(_("A wrong backup code was entered for %(target)s %(purpose)s (%(error)s)"),
                                   purpose=w.purpose, error=w.error),
                   label=gettext_lazy("Wrong backup code"))


register()
