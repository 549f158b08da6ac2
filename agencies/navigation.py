"""The Settings menu: only entries that lead somewhere the user may go."""
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from agencies.models import Membership, Role


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


def settings_menu_for(user) -> list[MenuEntry]:
    """Return the Settings entries for each agency the user owns or administers."""
    memberships = list(
        Membership.objects.filter(user=user, role__in=[Role.OWNER, Role.ADMIN]).select_related("agency")
    )
    entries: list[MenuEntry] = []
    for membership in memberships:
        for label, url_name, roles in SETTINGS_ENTRIES:
            if membership.role not in roles:
                continue
            try:
                url = reverse(url_name, kwargs={"agency_id": membership.agency_id})
            except NoReverseMatch:
                continue
            shown = f"{label} ({membership.agency.name})" if len(memberships) > 1 else label
            entries.append(MenuEntry(label=shown, url=url))
    return entries
