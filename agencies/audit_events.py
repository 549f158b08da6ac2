"""The agencies app's audit events in words (loaded from AgenciesConfig.ready)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.audit_events import ADMINISTRATION, POLICY, SIGN_IN, Words, method_name, register_event
from agencies.flows import MEMBER_METHOD_RESET, TWO_FACTOR_POLICY_CHANGED

# The temporary access pass (issue 12, section 2): registered here so its rows
# read well from the first one written, whichever module ends up recording them.
ACCESS_PASS_ISSUED = "access_pass.issued"
ACCESS_PASS_USED = "access_pass.used"
ACCESS_PASS_REVOKED = "access_pass.revoked"
ACCESS_PASS_EXPIRED = "access_pass.expired"

# The policy keys a change lists, in the order the Security page shows them.
POLICY_KEYS = ("required", "grace_days", "allowed_methods", "allow_backup_codes",
               "allow_trusted_browsers", "trusted_browser_days", "step_up_minutes")


def _yes_no(value) -> str:
    return _("Yes") if value else _("No")


def _allowed(value) -> str:
    return _("Allowed") if value else _("Not allowed")


def _methods(value) -> str:
    return ", ".join(method_name(key) for key in value) if value else _("Any")


def _days(value) -> str:
    return ngettext("%(count)s day", "%(count)s days", int(value)) % {"count": value}


def _minutes(value) -> str:
    return ngettext("%(count)s minute", "%(count)s minutes", int(value)) % {"count": value}


# key -> (name in the line, how a value reads)
_POLICY_WORDS = {
    "required": (gettext_lazy("two-factor required"), _yes_no),
    "grace_days": (gettext_lazy("grace period"), _days),
    "allowed_methods": (gettext_lazy("allowed methods"), _methods),
    "allow_backup_codes": (gettext_lazy("backup codes"), _allowed),
    "allow_trusted_browsers": (gettext_lazy("trusted browsers"), _allowed),
    "trusted_browser_days": (gettext_lazy("trusted-browser period"), _days),
    "step_up_minutes": (gettext_lazy("step-up window"), _minutes),
}


def _policy_change(name: str, render, before, after) -> str:
    """One "allowed methods Any → Passkeys" part; a shared unit is said once ("10 → 5 minutes")."""
    if render in (_days, _minutes) and before is not None and after is not None:
        return f"{name} {before} → {render(after)}"
    missing = _("not set")
    return "{} {} → {}".format(name, render(before) if before is not None else missing,
                               render(after) if after is not None else missing)


def _grace_line(days) -> str:
    return ngettext("%(actor)s required two-factor authentication (grace %(days)s day)",
                    "%(actor)s required two-factor authentication (grace %(days)s days)", int(days))


def _policy_changed(words: Words) -> str:
    data = words.data
    if "before" not in data:
        return _policy_changed_before_round_two(words)
    before, after = data.get("before") or {}, data.get("after") or {}
    changed = [key for key in POLICY_KEYS if before.get(key) != after.get(key) and key in after]
    head = ""
    if "required" in changed:
        head = (words.fmt(_grace_line(after.get("grace_days", 0)), days=after.get("grace_days", 0)) if after["required"]
                else words.fmt(_("%(actor)s stopped requiring two-factor authentication")))
        changed = [key for key in changed if key not in ("required", "grace_days")]
    parts = "; ".join(_policy_change(str(_POLICY_WORDS[key][0]), _POLICY_WORDS[key][1], before.get(key), after.get(key))
                      for key in changed)
    if head and parts:
        return _("%(head)s and changed the security policy: %(changes)s") % {"head": head, "changes": parts}
    if head:
        return head
    if parts:
        return words.fmt(_("%(actor)s changed the security policy: %(changes)s"), changes=parts)
    return words.fmt(_("%(actor)s saved the security policy without changes"))


def _policy_changed_before_round_two(words: Words) -> str:
    """Rows written before the policy had more than on/off: {"required", "grace_days", "previously_required"}."""
    data = words.data
    if data.get("required"):
        line = words.fmt(_grace_line(data.get("grace_days", 0)), days=data.get("grace_days", 0))
        if data.get("previously_required"):
            days = data.get("grace_days", 0)
            line = words.fmt(ngettext("%(actor)s kept two-factor authentication required (grace %(days)s day)",
                                      "%(actor)s kept two-factor authentication required (grace %(days)s days)",
                                      int(days)), days=days)
        return line
    if data.get("previously_required"):
        return words.fmt(_("%(actor)s stopped requiring two-factor authentication"))
    return words.fmt(_("%(actor)s left two-factor authentication optional"))


def _hours(words: Words) -> str:
    hours = words.data.get("lifetime_hours")
    return ngettext(" (valid %(hours)s hour)", " (valid %(hours)s hours)", int(hours)) % {"hours": hours} if hours else ""


def register() -> None:
    register_event(MEMBER_METHOD_RESET, ADMINISTRATION,
                   lambda w: w.fmt(_("%(actor)s disabled %(method)s for %(target)s")),
                   label=gettext_lazy("Member's method disabled by an administrator"))
    register_event(TWO_FACTOR_POLICY_CHANGED, POLICY, _policy_changed, label=gettext_lazy("Security policy changed"))
    register_event(ACCESS_PASS_ISSUED, ADMINISTRATION,
                   lambda w: w.fmt(_("%(actor)s issued a temporary access pass for %(target)s%(hours)s"),
                                   hours=_hours(w)),
                   label=gettext_lazy("Temporary access pass issued"))
    register_event(ACCESS_PASS_REVOKED, ADMINISTRATION,
                   lambda w: w.own_or_other(_("%(actor)s revoked their temporary access pass"),
                                            _("%(actor)s revoked the temporary access pass of %(target)s")),
                   label=gettext_lazy("Temporary access pass revoked"))
    register_event(ACCESS_PASS_USED, SIGN_IN,
                   lambda w: w.fmt(_("%(target)s signed in with a temporary access pass from %(browser)s")),
                   label=gettext_lazy("Temporary access pass used"))
    register_event(ACCESS_PASS_EXPIRED, SIGN_IN,
                   lambda w: w.fmt(_("The temporary access pass of %(target)s expired unused")),
                   label=gettext_lazy("Temporary access pass expired"))


register()
