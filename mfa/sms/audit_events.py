"""Text Messages' audit events in words (loaded from SmsConfig.ready)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.audit_events import METHODS, SIGN_IN, Words, register_event
from mfa.sms.challenges import LIMITED
from mfa.sms.delivery import DROPPED, SEND_FAILED, SENT
from mfa.sms.flows import CURRENT_NUMBER_CONFIRMED, DISABLED, ENABLED, NUMBER_CHANGED, VERIFY_FAILED

_LIMITS = {
    "cooldown": gettext_lazy("a text was sent moments ago"),
    "user_limit": gettext_lazy("too many texts for this account"),
    "number_limit": gettext_lazy("too many texts to this number today"),
    "ip_limit": gettext_lazy("too many texts from this address"),
    "agency_limit": gettext_lazy("the agency's daily limit of texts"),
}


def _to(words: Words) -> str:
    return str(words.data.get("to", "") or _("their number"))


def _limited(words: Words) -> str:
    limit = words.data.get("limit", "")
    return words.fmt(_("A text to %(target)s was held back %(purpose)s (%(why)s)"), purpose=words.purpose,
                     why=_LIMITS.get(limit, str(limit).replace("_", " ")))


def register() -> None:
    register_event(ENABLED, METHODS,
                   lambda w: w.own_or_other(_("%(actor)s set up %(method)s (%(to)s)"),
                                            _("%(actor)s set up %(method)s (%(to)s) for %(target)s"),
                                            to=w.data.get("to", "")),
                   label=gettext_lazy("Text Messages set up"))
    register_event(NUMBER_CHANGED, METHODS,
                   lambda w: w.fmt(_("%(actor)s changed the Text Messages number from %(old)s to %(to)s"),
                                   old=w.data.get("from", ""), to=_to(w)),
                   label=gettext_lazy("Text Messages number changed"))
    register_event(CURRENT_NUMBER_CONFIRMED, METHODS,
                   lambda w: w.fmt(_("%(actor)s confirmed their current number (%(to)s) to change it"),
                                   to=w.data.get("to", "")),
                   label=gettext_lazy("Current number confirmed"))
    register_event(DISABLED, METHODS,
                   lambda w: w.own_or_other(_("%(actor)s disabled %(method)s (%(to)s)"),
                                            _("%(actor)s disabled %(method)s (%(to)s) for %(target)s"),
                                            to=w.data.get("to", "")),
                   label=gettext_lazy("Text Messages disabled"))
    register_event(VERIFY_FAILED, SIGN_IN,
                   lambda w: w.fmt(_("A wrong texted code was entered for %(target)s %(purpose)s (%(error)s)"),
                                   purpose=w.purpose, error=w.error),
                   label=gettext_lazy("Wrong texted code"))
    register_event(LIMITED, SIGN_IN, _limited, label=gettext_lazy("Text held back by a limit"))
    register_event(SENT, SIGN_IN,
                   lambda w: w.fmt(_("A code was texted to %(to)s for %(target)s %(purpose)s"),
                                   to=_to(w), purpose=w.purpose),
                   label=gettext_lazy("Code texted"))
    register_event(SEND_FAILED, SIGN_IN,
                   lambda w: w.fmt(_("A text to %(to)s for %(target)s could not be sent (%(error)s)"),
                                   to=_to(w), error=w.error),
                   label=gettext_lazy("Text not sent"))
    register_event(DROPPED, SIGN_IN,
                   lambda w: w.fmt(_("A text to %(to)s for %(target)s was no longer needed and was not sent"),
                                   to=_to(w)),
                   label=gettext_lazy("Text dropped"))


register()
