"""Who may do what to whom. Every view asks these functions; none decides alone.

Rules (the seed article's roles):
- the Owner manages every member of the agency;
- an Agency Administrator manages Users, not the Owner nor other Administrators;
- a User manages nobody;
- nobody reaches members of an agency they do not belong to: a 404, so the
  response does not reveal whether that user exists;
- nobody manages a member who owns or administers another agency the actor
  does not own: their methods protect that agency too.
"""
from django.http import Http404

from agencies.models import Agency, Membership, Role

MANAGING_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def membership_of(user, agency: Agency) -> Membership | None:
    """Return the user's membership in ``agency``, or None."""
    if getattr(user, "pk", None) is None:
        return None
    return Membership.objects.filter(user=user, agency=agency).first()


def role_of(user, agency: Agency) -> str | None:
    membership = membership_of(user, agency)
    return membership.role if membership else None


def can_manage_users(actor, agency: Agency) -> bool:
    """Return True when ``actor`` may open Settings > Manage Users of ``agency``."""
    return role_of(actor, agency) in MANAGING_ROLES


def can_manage_user(actor, target, agency: Agency) -> bool:
    """Return True when ``actor`` may reset ``target``'s methods or view their codes."""
    if getattr(actor, "pk", None) is None or getattr(target, "pk", None) is None:
        return False
    if actor.pk == target.pk:
        return False  # one's own methods are managed from the Profile, with the user's own rules
    if not role_can_manage(role_of(actor, agency), role_of(target, agency)):
        return False
    return not manages_an_agency_beyond_actor(actor, target, agency)


def manages_an_agency_beyond_actor(actor, target, agency: Agency) -> bool:
    """True when ``target`` is Owner or Administrator of another agency the actor does not own.

    A user's methods and backup codes protect every agency they belong to.
    Acme's administrator resetting a plain Acme user who owns another agency
    would strip (or, through backup codes, take over) that other tenant's
    protection, so it is refused.
    """
    return bool(members_beyond_actor(actor, agency, [target.pk]))


def members_beyond_actor(actor, agency: Agency, user_ids) -> set[int]:
    """Of ``user_ids``, those who own or administer an agency (other than this one) the actor does not own.

    One query for any number of users, so lists can hide what detail pages refuse.
    """
    actor_owns = Membership.objects.filter(user=actor, role=Role.OWNER).values("agency_id")
    return set(
        Membership.objects.filter(user_id__in=user_ids, role__in=MANAGING_ROLES)
        .exclude(agency=agency)
        .exclude(agency_id__in=actor_owns)
        .values_list("user_id", flat=True)
    )


def role_can_manage(actor_role: str | None, target_role: str | None) -> bool:
    """The role rule alone, for lists that already know both roles."""
    if actor_role is None or target_role is None:
        return False
    if actor_role == Role.OWNER:
        return True
    return actor_role == Role.ADMIN and target_role == Role.USER


def can_change_security_policy(actor, agency: Agency) -> bool:
    """Return True when ``actor`` may change Settings > Parent Settings > Security."""
    return role_of(actor, agency) == Role.OWNER


def get_agency_for_manager_or_404(actor, agency_id: int) -> Agency:
    """Return the agency if ``actor`` manages its users; 404 otherwise, revealing nothing."""
    agency = Agency.objects.filter(pk=agency_id).select_related("plan").first()
    if agency is None or not can_manage_users(actor, agency):
        raise Http404
    return agency


def get_managed_member_or_404(actor, agency: Agency, user_id: int) -> Membership:
    """Return the target's membership if ``actor`` may manage them; 404 otherwise.

    A target outside the agency and a target the actor may not manage both
    get the same 404, so probing ids reveals nothing.
    """
    membership = (
        Membership.objects.filter(agency=agency, user_id=user_id).select_related("user").first()
    )
    if membership is None or not can_manage_user(actor, membership.user, agency):
        raise Http404
    return membership


def get_agency_and_member_or_404(actor, agency_id: int, user_id: int) -> tuple[Agency, object]:
    """Return (agency, member user) for a page on a member ``actor`` manages; 404 otherwise."""
    agency = get_agency_for_manager_or_404(actor, agency_id)
    return agency, get_managed_member_or_404(actor, agency, user_id).user
