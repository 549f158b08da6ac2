"""Passkeys' and security keys' audit events in words (loaded from WebAuthnConfig.ready)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit_events import METHODS, SIGN_IN, Words, register_event
from mfa.webauthn.flows import KEY_ADDED, KEY_REMOVED, KEY_RENAMED, SIGN_COUNT_WENT_BACKWARDS, VERIFICATION_FAILED


def _key(words: Words) -> str:
    return str(words.data.get("name", "") or _("a key"))


def _refused(words: Words) -> str:
    if words.event.target_user_id is None:
        return words.fmt(_("A passkey or security key was refused %(purpose)s (%(error)s)"),
                         purpose=words.purpose, error=words.error)
    return words.fmt(_("A passkey or security key of %(target)s was refused %(purpose)s (%(error)s)"),
                     purpose=words.purpose, error=words.error)


def register() -> None:
    register_event(KEY_ADDED, METHODS,
                   lambda w: w.fmt(_("%(actor)s added the passkey or security key “%(key)s”"), key=_key(w)),
                   label=gettext_lazy("Passkey or security key added"))
    register_event(KEY_RENAMED, METHODS,
                   lambda w: w.fmt(_("%(actor)s renamed the passkey “%(previous)s” to “%(key)s”"),
                                   key=_key(w), previous=w.data.get("previous", "")),
                   label=gettext_lazy("Passkey or security key renamed"))
    register_event(KEY_REMOVED, METHODS,
                   lambda w: w.fmt(_("%(actor)s removed the passkey or security key “%(key)s”"), key=_key(w)),
                   label=gettext_lazy("Passkey or security key removed"))
    register_event(VERIFICATION_FAILED, SIGN_IN, _refused, label=gettext_lazy("Passkey or security key refused"))
    register_event(SIGN_COUNT_WENT_BACKWARDS, SIGN_IN,
                   lambda w: w.fmt(_("The security key “%(key)s” of %(target)s may have been copied "
                                     "(its counter went backwards); it was refused"), key=_key(w)),
                   label=gettext_lazy("Security key may have been copied"))


register()
