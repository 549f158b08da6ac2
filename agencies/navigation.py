"""The Settings menu: only entries that lead somewhere the user may go."""
import logging
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from agencies.memberships import memberships_of
from agencies.models import Membership, Role
from agencies.user_cache import PerUserCache


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url: str


# (label, URL name, roles allowed). Later features add their entries here;
# an entry whose URL does not exist yet is left out rather than shown dead.
SETTINGS_ENTRIES: list[tuple[str, str, frozenset[str]]] = [
    (_("Manage Users"), "settings:manage_users", frozenset({Role.OWNER, Role.ADMIN})),
    (_("Parent Settings › Security"), "agencies:security_policy", frozenset({Role.OWNER})),
    (_("Security Log"), "settings:security_log", frozenset({Role.OWNER, Role.ADMIN})),
    (_("Plans"), "settings:plans", frozenset({Role.OWNER, Role.ADMIN})),
]


# The roles behind the menu, cached per user: every page shows the menu, and
# it changes only with a membership or an agency's name (agencies.signals
# forgets it then). It decides no access: each page checks the role itself.
_MENU_ROLES = PerUserCache(name="settings menu", key_prefix="settings-menu", timeout=15 * 60,
                           logger=logging.getLogger(__name__), compute=lambda user: _managed_agencies(user))


def settings_menu_for(user) -> list[MenuEntry]:
    """Return the Settings entries for each agency the user owns or administers."""
    memberships = _MENU_ROLES.get_for(user)
    entries: list[MenuEntry] = []
    for agency_id, agency_name, role in memberships:
        for label, url_name, roles in SETTINGS_ENTRIES:
            if role not in roles:
                continue
            try:
                url = reverse(url_name, kwargs={"agency_id": agency_id})
            except NoReverseMatch:
                continue
            # Labels are translated here, per request: only the roles are cached.
            shown = f"{label} ({agency_name})" if len(memberships) > 1 else str(label)
            entries.append(MenuEntry(label=shown, url=url))
    return entries


def _managed_agencies(user) -> list[tuple[int, str, str]]:
    """(agency id, agency name, role) of each agency the user owns or administers."""
    return [(row["agency_id"], row["agency__name"], row["role"]) for row in memberships_of(user)
            if row["role"] in (Role.OWNER, Role.ADMIN)]


def forget_menus(user_ids) -> None:
    """Drop these users' cached menus; never fails the change that made them stale."""
    _MENU_ROLES.forget(user_ids)


def forget_agency_menus(agency) -> None:
    forget_menus(Membership.objects.filter(agency=agency).values_list("user_id", flat=True))
