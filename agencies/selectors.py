"""Read-only queries for the agency Settings pages, sized for 10,000-user agencies."""
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from accounts import audit
from accounts.models import AuditEvent
from agencies.app_settings import app_settings
from agencies.models import Agency, Membership, SubAccount
from mfa.registry import all_methods


def _method_annotations(user_ref: str = "user_id") -> dict:
    """One EXISTS per method: does the member have an active device of it?"""
    return {
        f"has_{method.key}": Exists(method.all_active_devices().filter(user=OuterRef(user_ref)))
        for method in all_methods()
    }


def _has_primary_q() -> Q:
    primary = [m for m in all_methods() if m.is_primary]
    condition = Q(pk__in=[])  # false when no primary method is enabled
    for method in primary:
        condition |= Q(**{f"has_{method.key}": True})
    return condition


def members_with_methods(agency: Agency) -> QuerySet:
    """Memberships of ``agency`` with their user and one has_<method> flag per method."""
    return (
        Membership.objects.filter(agency=agency)
        .select_related("user")
        .annotate(**_method_annotations())
    )


@dataclass(frozen=True)
class MemberMethod:
    key: str
    label: str
    in_use: bool


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    methods: list[MemberMethod]
    has_two_factor: bool


def _member_row(membership: Membership) -> MemberRow:
    active = [m for m in all_methods() if getattr(membership, f"has_{m.key}")]
    preferred = membership.user.preferred_mfa_method
    in_use = next((m for m in active if m.key == preferred), None) or next(
        (m for m in active if m.is_primary), None
    )
    return MemberRow(
        membership=membership,
        methods=[MemberMethod(m.key, m.label, m is in_use) for m in active],
        has_two_factor=any(m.is_primary for m in active),
    )


@dataclass(frozen=True)
class ManageUsersPage:
    page: Page
    rows: list[MemberRow]
    total_members: int
    members_with_two_factor: int


def manage_users_page(agency: Agency, *, search: str = "", without_two_factor: bool = False,
                      page_number: str | int = 1) -> ManageUsersPage:
    """Return one page of Settings > Manage Users in a fixed number of queries."""
    members = members_with_methods(agency)
    compliance = members.aggregate(total=Count("pk"), with_two_factor=Count("pk", filter=_has_primary_q()))
    if search:
        members = members.filter(Q(user__name__icontains=search) | Q(user__email__icontains=search))
    if without_two_factor:
        members = members.exclude(_has_primary_q())
    members = members.prefetch_related(
        Prefetch("subaccounts", queryset=SubAccount.objects.only("id", "name").order_by("name"))
    ).order_by("user__name", "user__email", "pk")
    page = Paginator(members, app_settings.MANAGE_USERS_PAGE_SIZE).get_page(page_number)
    return ManageUsersPage(
        page=page,
        rows=[_member_row(membership) for membership in page.object_list],
        total_members=compliance["total"],
        members_with_two_factor=compliance["with_two_factor"],
    )


def security_log(agency: Agency, *, user_email: str = "", event_type: str = "") -> QuerySet:
    """The agency's audit events: those recorded against it and those of its members."""
    member_ids = Membership.objects.filter(agency=agency).values("user_id")
    # Events of another agency (agency set to it) stay out even when they
    # involve one of our members; account-level events (sign-ins, methods)
    # have no agency and belong to every agency of their user.
    events = AuditEvent.objects.filter(
        Q(agency=agency) | Q(agency__isnull=True, target_user_id__in=member_ids)
    ).select_related("actor", "target_user")
    if user_email:
        events = events.filter(
            Q(target_user__email__icontains=user_email) | Q(actor__email__icontains=user_email)
            | Q(attempted_email__icontains=user_email)
        )
    if event_type:
        events = events.filter(event_type=event_type)
    return events.order_by("-created_at", "-id")


def security_log_event_types(agency: Agency) -> list[str]:
    """Distinct event types known to the log filter (the ones audit defines plus the recorded ones)."""
    recorded = security_log(agency).order_by().values_list("event_type", flat=True).distinct()
    return sorted(set(recorded) | set(audit.SIGN_IN_EVENTS))
