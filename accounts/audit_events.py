"""The catalogue of audit events: each event type's group, name and plain-language line.

Every app registers the event types it records (accounts here; agencies in
agencies/audit_events.py; each MFA method in its own package), so the Security
Log can say "Adam Admin disabled Google Authenticator for Alice Example"
instead of ``mfa.totp.disabled``. The stored codes stay the stable keys
(filters, CSV, tests); only their words live here. A code nobody registered
still gets a readable line, never a blank.
"""
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.client import describe_browser

# Groups of the Security Log filter, in the order it lists them.
SIGN_IN = "sign_in"
METHODS = "methods"
ADMINISTRATION = "administration"
POLICY = "policy"
GROUPS = {
    SIGN_IN: gettext_lazy("Sign-in"),
    METHODS: gettext_lazy("Methods"),
    ADMINISTRATION: gettext_lazy("Administration"),
    POLICY: gettext_lazy("Policy"),
}

# Sign-in "methods" that are not MFA methods; the others are named by mfa.registry.
_METHOD_NAMES = {
    "password": gettext_lazy("Password"),
    "trusted_browser": gettext_lazy("Trusted browser"),
}


_SPACES = re.compile(r" {2,}")
_EMPTY_PARENS = re.compile(r" ?\(\s*\)")

_PURPOSES = {
    "sign_in": gettext_lazy("at sign-in"),
    "login": gettext_lazy("at sign-in"),
    "reauth": gettext_lazy("to confirm it was them"),
    "setup": gettext_lazy("during set-up"),
    "enrol": gettext_lazy("during set-up"),
    "register": gettext_lazy("while adding a key"),
    "change_current": gettext_lazy("while changing the number (current number)"),
    "change_new": gettext_lazy("while changing the number (new number)"),
    "identify": gettext_lazy("at passkey sign-in"),
}

# Error codes several methods record, in words; the others are shown with spaces.
_ERRORS = {
    "invalid": gettext_lazy("wrong code"),
    "incorrect_code": gettext_lazy("wrong code"),
    "wrong_code": gettext_lazy("wrong code"),
    "expired": gettext_lazy("code expired"),
    "throttled": gettext_lazy("too many tries"),
    "incorrect": gettext_lazy("wrong code"),
    "code_reused": gettext_lazy("code already used"),
    "used": gettext_lazy("code already used"),
    "replaced": gettext_lazy("code from a replaced set"),
    "dead": gettext_lazy("too many wrong codes"),
    "incorrect_password": gettext_lazy("wrong password"),
}


def display_name(user) -> str:
    """Return the user's name when set, else their email."""
    return (user.name or user.email) if user is not None else ""


def method_name(key: str) -> str:
    """Return a method key in words: "Google Authenticator", "Password", "Trusted browser"."""
    if not key:
        return ""
    if key in _METHOD_NAMES:
        return str(_METHOD_NAMES[key])
    # Imported here: accounts is the base layer and must not import mfa at load time.
    from mfa.registry import get_method

    method = get_method(key)
    return str(method.label) if method is not None else key.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Words:
    """What a line may say about one event, each part already in words."""

    event: object  # an AuditEvent with actor and target_user loaded

    @property
    def data(self) -> dict:
        return self.event.data if isinstance(self.event.data, dict) else {}

    @property
    def actor(self) -> str:
        """The one who acted, or "Someone" when nobody was signed in."""
        return display_name(self.event.actor) or _("Someone")

    @property
    def target(self) -> str:
        """The account acted on, else the email typed for it, else "someone"."""
        return (display_name(self.event.target_user) or self.event.attempted_email
                or display_name(self.event.actor) or _("someone"))

    @property
    def by_self(self) -> bool:
        """True when the actor acted on their own account (or nobody else is named)."""
        event = self.event
        return event.target_user_id is None or event.actor_id is None or event.actor_id == event.target_user_id

    @property
    def method(self) -> str:
        return method_name(self.event.method)

    @property
    def browser(self) -> str:
        return describe_browser(self.event.user_agent)

    @property
    def purpose(self) -> str:
        """Why a code or key was asked for, in words ("at sign-in"); "" when not recorded."""
        purpose = self.data.get("purpose", "")
        words = _PURPOSES.get(purpose)
        return str(words) if words is not None else str(purpose).replace("_", " ")

    @property
    def error(self) -> str:
        """The recorded error code in words ("wrong code" for ``invalid``)."""
        error = str(self.data.get("error", "") or "")
        words = _ERRORS.get(error)
        return str(words) if words is not None else error.replace("_", " ")

    def fmt(self, text: str, **extra) -> str:
        """Fill ``text``'s %(actor)s, %(target)s, %(method)s, %(browser)s and ``extra``."""
        line = text % {"actor": self.actor, "target": self.target, "method": self.method,
                       "browser": self.browser, **extra}
        # A part an older row did not record leaves no "()" or double space behind.
        return _EMPTY_PARENS.sub("", _SPACES.sub(" ", line)).strip()

    def own_or_other(self, own: str, other: str, **extra) -> str:
        """The line for acting on one's own account, or for an admin acting on someone else's."""
        return self.fmt(own if self.by_self else other, **extra)


@dataclass(frozen=True)
class EventKind:
    code: str
    group: str
    label: object  # the name in the filter ("Failed sign-in"), lazily translated
    describe: Callable[[Words], str]


_catalogue: dict[str, EventKind] = {}


def register_event(code: str, group: str, describe: Callable[[Words], str], *, label) -> None:
    """Register one event type: its group, its name in the filter and its line.

    Registering a code twice with another group is a programming error: the
    filter would list it in two places.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown audit event group {group!r}")
    known = _catalogue.get(code)
    if known is not None and known.group != group:
        raise ValueError(f"audit event {code!r} is registered already in {known.group!r}")
    _catalogue[code] = EventKind(code=code, group=group, label=label, describe=describe)


def registered() -> dict[str, EventKind]:
    """Return the registered event types, keyed by code."""
    return dict(_catalogue)


def kind_of(code: str) -> EventKind | None:
    return _catalogue.get(code)


def group_of(code: str) -> str:
    kind = _catalogue.get(code)
    return kind.group if kind else ""


def group_label(group: str) -> str:
    return str(GROUPS.get(group, ""))


def label_of(code: str) -> str:
    """Return an event type's name in words; an unregistered one is made readable."""
    kind = _catalogue.get(code)
    return str(kind.label) if kind else _readable_code(code)


def codes_in_group(group: str) -> list[str]:
    return [code for code, kind in _catalogue.items() if kind.group == group]


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return (group name, [(code, name), ...]) in group order, names sorted, for a <select>."""
    return [
        (str(label), sorted(((kind.code, str(kind.label)) for kind in _catalogue.values() if kind.group == group),
                            key=lambda choice: choice[1].lower()))
        for group, label in GROUPS.items()
    ]


def describe(event) -> str:
    """Return the event in one plain-language line."""
    kind = _catalogue.get(event.event_type)
    words = Words(event)
    if kind is None:
        return _generic_line(words)
    try:
        return kind.describe(words)
    except (KeyError, TypeError, ValueError, AttributeError):
        # A row written by an older version with other data: still a line, never a 500.
        return _generic_line(words)


def _readable_code(code: str) -> str:
    """``mfa.totp.verification_failed`` -> "Mfa totp verification failed": words, not a key."""
    return code.replace(".", " ").replace("_", " ").strip().capitalize() or _("Event")


def _generic_line(words: Words) -> str:
    line = words.fmt(_("%(actor)s: %(what)s"), what=_readable_code(words.event.event_type).lower())
    if not words.by_self:
        line = words.fmt(_("%(line)s (for %(target)s)"), line=line)
    return line


# --- the events of the accounts app ---------------------------------------------

_SIGN_IN_FAILURES = {
    # The error codes a failed sign-in records, in words.
    "": gettext_lazy("wrong password"),
    "unknown_credential": gettext_lazy("unknown passkey"),
    "sign_count": gettext_lazy("the passkey may have been copied"),
}


def _failure_reason(words: Words) -> str:
    error = words.data.get("error", "")
    if error in _SIGN_IN_FAILURES and (error or words.event.method == "password"):
        return str(_SIGN_IN_FAILURES[error])
    return _("%(method)s refused: %(error)s") % {
        "method": words.method or _("sign-in"), "error": str(error).replace("_", " ") or _("no reason given")}


def _signed_in(words: Words) -> str:
    if words.event.method in ("", "password"):
        return words.fmt(_("%(actor)s signed in with a password from %(browser)s"))
    return words.fmt(_("%(actor)s signed in with %(method)s from %(browser)s"))


def _sign_in_failed(words: Words) -> str:
    if words.event.target_user_id is None and not words.event.attempted_email:
        return words.fmt(_("Someone failed to sign in (%(reason)s)"), reason=_failure_reason(words))
    return words.fmt(_("Someone failed to sign in as %(target)s (%(reason)s)"), reason=_failure_reason(words))


def _sign_in_throttled(words: Words) -> str:
    seconds = words.data.get("retry_after")
    wait = ngettext("for %(seconds)s second", "for %(seconds)s seconds", int(seconds)) % {"seconds": seconds} \
        if seconds else ""
    if words.event.target_user_id is None and not words.event.attempted_email:
        return words.fmt(_("Sign-in attempts were paused %(wait)s (too many tries)"), wait=wait)
    return words.fmt(_("Sign-in attempts as %(target)s were paused %(wait)s (too many tries)"), wait=wait)


def _second_factor_failed(words: Words) -> str:
    return words.fmt(_("Someone entered the password of %(target)s but failed the %(method)s step (%(error)s)"),
                     error=words.error or _("refused"))


def _reauth_failed(words: Words) -> str:
    return words.fmt(_("%(actor)s failed to confirm it was them with %(method)s"))


def _session_revoked(words: Words) -> str:
    data = words.data
    if data.get("this_session"):
        return words.fmt(_("%(actor)s signed out this session (%(session_browser)s)"),
                         session_browser=data.get("browser", ""))
    return words.fmt(_("%(actor)s signed out a session on %(session_browser)s from %(ip)s"),
                     session_browser=data.get("browser", "") or _("an unknown browser"),
                     ip=data.get("ip_address", "") or _("an unknown address"))


_BROWSER_REVOKE_REASONS = {
    "password_reset": gettext_lazy("after a password reset"),
    "security_change": gettext_lazy("after a security change on the account"),
    "replaced": gettext_lazy("trusted again on the same browser"),
    "admin_reset": gettext_lazy("by an administrator's reset"),
}


def _browsers_revoked(words: Words) -> str:
    count = int(words.data.get("count", 0) or 0)
    reason = _BROWSER_REVOKE_REASONS.get(words.data.get("reason", ""))
    line = words.own_or_other(
        ngettext("%(actor)s stopped trusting %(count)s browser", "%(actor)s stopped trusting %(count)s browsers",
                 count),
        ngettext("%(actor)s stopped trusting %(count)s browser of %(target)s",
                 "%(actor)s stopped trusting %(count)s browsers of %(target)s", count), count=count)
    return f"{line} ({reason})" if reason else line


# A channel's name in a line ("A message (email) to ..."); another channel is shown by its key.
_CHANNEL_WORDS = {
    "email": gettext_lazy("email"),
    "sms": gettext_lazy("SMS"),
}

_DELIVERY_WORDS = {
    "failed": gettext_lazy("was refused"),
    "dead": gettext_lazy("could not be delivered"),
    "dropped": gettext_lazy("was no longer needed and was not sent"),
}


def _delivery(state: str) -> Callable[[Words], str]:
    def line(words: Words) -> str:
        channel = words.data.get("channel", "") or "email"
        channel = str(_CHANNEL_WORDS.get(channel, channel))
        return words.fmt(_("A message (%(channel)s) to %(target)s %(outcome)s"),
                         channel=channel, outcome=_DELIVERY_WORDS[state])
    return line


def register_accounts_events() -> None:
    """Register the events recorded by the accounts app (called once, below)."""
    from accounts import audit, password_reset, sessions, trusted_browsers
    from accounts.delivery import channels

    register_event(audit.SIGN_IN_SUCCEEDED, SIGN_IN, _signed_in, label=gettext_lazy("Signed in"))
    register_event(audit.SIGN_IN_FAILED, SIGN_IN, _sign_in_failed, label=gettext_lazy("Failed sign-in"))
    register_event(audit.SIGN_IN_THROTTLED, SIGN_IN, _sign_in_throttled,
                   label=gettext_lazy("Sign-in paused (too many tries)"))
    register_event(audit.SIGN_IN_SECOND_FACTOR_FAILED, SIGN_IN, _second_factor_failed,
                   label=gettext_lazy("Failed two-factor step"))
    register_event(audit.SIGN_OUT, SIGN_IN, lambda w: w.fmt(_("%(actor)s signed out")),
                   label=gettext_lazy("Signed out"))
    register_event(audit.REAUTH_SUCCEEDED, SIGN_IN,
                   lambda w: w.fmt(_("%(actor)s confirmed it was them with %(method)s")),
                   label=gettext_lazy("Confirmed identity (step-up)"))
    register_event(audit.REAUTH_FAILED, SIGN_IN, _reauth_failed,
                   label=gettext_lazy("Failed to confirm identity (step-up)"))
    register_event(sessions.SESSION_REVOKED, SIGN_IN, _session_revoked, label=gettext_lazy("Session signed out"))
    register_event(audit.PASSWORD_CHANGED, METHODS, lambda w: w.fmt(_("%(actor)s changed their password")),
                   label=gettext_lazy("Password changed"))
    register_event(audit.PASSWORD_CHANGE_FAILED, METHODS,
                   lambda w: w.fmt(_("%(actor)s failed to change their password (wrong current password)")),
                   label=gettext_lazy("Failed password change"))
    register_event(password_reset.PASSWORD_RESET_REQUESTED, METHODS,
                   lambda w: w.fmt(_("Someone asked for a password reset link for %(target)s")),
                   label=gettext_lazy("Password reset requested"))
    register_event(password_reset.PASSWORD_RESET_THROTTLED, METHODS,
                   lambda w: w.fmt(_("Password reset requests for %(target)s were paused (too many)")),
                   label=gettext_lazy("Password reset paused (too many)"))
    register_event(password_reset.PASSWORD_RESET_LINK_REFUSED, METHODS,
                   lambda w: w.fmt(_("A password reset link for %(target)s was refused (used or expired)")),
                   label=gettext_lazy("Password reset link refused"))
    register_event(password_reset.PASSWORD_RESET, METHODS,
                   lambda w: w.fmt(_("%(actor)s reset their password with an email link")),
                   label=gettext_lazy("Password reset"))
    register_event(audit.MFA_DEFAULT_METHOD_CHANGED, METHODS,
                   lambda w: w.fmt(_("%(actor)s made %(method)s their default method")),
                   label=gettext_lazy("Default method changed"))
    register_event(trusted_browsers.BROWSER_TRUSTED, METHODS,
                   lambda w: w.fmt(_("%(actor)s chose to trust %(label)s"),
                                   label=w.data.get("label", "") or w.browser),
                   label=gettext_lazy("Browser trusted"))
    register_event(trusted_browsers.BROWSER_USED, SIGN_IN,
                   lambda w: w.fmt(_("%(actor)s signed in with a trusted browser (%(label)s)"),
                                   label=w.data.get("label", "") or w.browser),
                   label=gettext_lazy("Trusted browser used"))
    register_event(trusted_browsers.BROWSER_REVOKED, METHODS, _browsers_revoked,
                   label=gettext_lazy("Trusted browsers revoked"))
    register_event(channels.DELIVERY_FAILED, METHODS, _delivery("failed"), label=gettext_lazy("Message refused"))
    register_event(channels.DELIVERY_DEAD, METHODS, _delivery("dead"), label=gettext_lazy("Message not delivered"))
    register_event(channels.DELIVERY_DROPPED, METHODS, _delivery("dropped"), label=gettext_lazy("Message dropped"))


register_accounts_events()
