"""Read-only queries for the agency Settings pages, sized for 10,000-user agencies."""
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet

from accounts import audit
from accounts.models import AuditEvent
from agencies.app_settings import app_settings
from agencies.models import Agency, Membership, SubAccount
from mfa.registry import active_method_annotations, all_methods, default_method, has_primary_method_condition


def members_with_methods(agency: Agency) -> QuerySet:
    """Memberships of ``agency`` with their user and one has_<method> flag per method."""
    return (
        Membership.objects.filter(agency=agency)
        .select_related("user")
        .annotate(**active_method_annotations("user_id"))
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
    in_use = default_method(membership.user, active)
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
    compliance = members.aggregate(total=Count("pk"), with_two_factor=Count("pk", filter=has_primary_method_condition()))
    if search:
        members = members.filter(Q(user__name__icontains=search) | Q(user__email__icontains=search))
    if without_two_factor:
        members = members.exclude(has_primary_method_condition())
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


def members_without_two_factor(agency: Agency) -> list:
    """Return the active users of ``agency`` with no primary method."""
    members = members_with_methods(agency).exclude(has_primary_method_condition())
    return [membership.user for membership in members if membership.user.is_active]


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
