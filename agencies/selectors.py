"""Read-only queries for the agency Settings pages, sized for 10,000-user agencies."""
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import audit_events
from accounts.client import describe_browser
from accounts.models import AuditEvent, User
from agencies.app_settings import app_settings
from agencies.models import Agency, Membership, SubAccount
from ctm_auth import clock
from mfa.base import Method
from mfa.registry import (
    active_method_annotations,
    all_methods,
    default_method,
    has_primary_method_condition,
    primary_method_user_condition,
)


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


# --- The agency's own rule: who complies, who is due, who is blocked -------

# A member's standing under one agency's rule, from best to worst.
SET_UP, DUE, BLOCKED = "set_up", "due", "blocked"
_RANK = {SET_UP: 0, DUE: 1, BLOCKED: 2}


def primary_methods() -> list[Method]:
    return [method for method in all_methods() if method.is_primary]


def allowed_keys(stored: Iterable[str]) -> frozenset[str]:
    """The enabled primary methods a stored ``Agency.allowed_methods`` lets count ([] means every one)."""
    stored = set(stored)
    return frozenset(m.key for m in primary_methods() if not stored or m.key in stored)


def compliant_condition(keys: Iterable[str]) -> Q:
    """A condition on ``active_method_annotations``: the user has one of the primary methods ``keys``."""
    condition = Q(pk__in=[])  # false when no method counts
    for key in keys:
        condition |= Q(**{f"has_{key}": True})
    return condition


@dataclass(frozen=True)
class AgencyRule:
    """What one agency requires of its members (not the strictest rule over all of a member's agencies)."""

    required: bool
    allowed: frozenset[str]
    deadline: datetime | None

    @classmethod
    def of(cls, agency: Agency) -> "AgencyRule":
        return cls(required=agency.require_two_factor and agency.plan.allows_required_two_factor,
                   allowed=allowed_keys(agency.allowed_methods), deadline=agency.two_factor_deadline)

    def enforced_now(self, now: datetime) -> bool:
        return self.required and (self.deadline is None or self.deadline <= now)

    def standing(self, active: Iterable[str], now: datetime) -> str:
        """SET_UP, DUE or BLOCKED for a member whose active primary methods are ``active``."""
        if not self.required or self.allowed & set(active):
            return SET_UP
        return BLOCKED if self.enforced_now(now) else DUE

    def standing_condition(self, standing: str, now: datetime) -> Q:
        """The members (annotated by ``members_with_methods``) with this standing."""
        nobody = Q(pk__in=[])
        if not self.required:
            return has_primary_method_condition() if standing == SET_UP else nobody
        compliant = compliant_condition(self.allowed)
        if standing == SET_UP:
            return compliant
        if (standing == BLOCKED) == self.enforced_now(now):
            return ~compliant
        return nobody


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    methods: list[MemberMethod]
    has_two_factor: bool
    #: SET_UP, DUE or BLOCKED under this agency's rule.
    standing: str = SET_UP
    deadline: datetime | None = None


def _member_row(membership: Membership, rule: AgencyRule | None = None, now: datetime | None = None) -> MemberRow:
    active = [m for m in all_methods() if getattr(membership, f"has_{m.key}")]
    in_use = default_method(membership.user, active)
    standing = rule.standing([m.key for m in active if m.is_primary], now) if rule else SET_UP
    return MemberRow(
        membership=membership,
        methods=[MemberMethod(m.key, m.label, m is in_use) for m in active],
        has_two_factor=any(m.is_primary for m in active),
        standing=standing,
        deadline=rule.deadline if rule and standing == DUE else None,
    )


@dataclass(frozen=True)
class ManageUsersPage:
    page: Page
    rows: list[MemberRow]
    total_members: int
    members_with_two_factor: int
    rule: AgencyRule | None = None


def manage_users_page(agency: Agency, *, search: str = "", without_two_factor: bool = False,
                      standing: str = "", page_number: str | int = 1) -> ManageUsersPage:
    """Return one page of Settings > Manage Users in a fixed number of queries.

    ``standing`` (SET_UP, DUE or BLOCKED) keeps the members with that
    standing under this agency's rule; "" keeps everyone.
    """
    now, rule = clock.now(), AgencyRule.of(agency)
    members = members_with_methods(agency)
    # Counted and filtered over every member with IN lists, not per-row EXISTS: one
    # pass over each device table, whatever the agency's size.
    with_method = primary_method_user_condition()
    compliance = Membership.objects.filter(agency=agency).aggregate(
        total=Count("pk"), with_two_factor=Count("pk", filter=with_method))
    if search:
        members = members.filter(Q(user__name__icontains=search) | Q(user__email__icontains=search))
    if without_two_factor:
        members = members.exclude(with_method)
    if standing:
        members = members.filter(rule.standing_condition(standing, now))
    # The page's ids first, sorted without the method states: PostgreSQL would
    # otherwise work them out for every member before sorting, not for 50.
    ids = members.order_by("user__name", "user__email", "pk").values_list("pk", flat=True)
    page = Paginator(ids, app_settings.MANAGE_USERS_PAGE_SIZE).get_page(page_number)
    on_page = {membership.pk: membership for membership in members_with_methods(agency).filter(
        pk__in=list(page.object_list)).prefetch_related(
        Prefetch("subaccounts", queryset=SubAccount.objects.only("id", "name").order_by("name")))}
    return ManageUsersPage(
        page=page,
        # A member removed between the two statements is left out, not a 500.
        rows=[_member_row(on_page[pk], rule, now) for pk in page.object_list if pk in on_page],
        total_members=compliance["total"],
        members_with_two_factor=compliance["with_two_factor"],
        rule=rule,
    )


def members_without_two_factor(agency: Agency) -> list:
    """Return the active users of ``agency`` with no primary method."""
    members = members_with_methods(agency).exclude(has_primary_method_condition())
    return [membership.user for membership in members if membership.user.is_active]


def noncompliant_members(agency: Agency, allowed: Iterable[str] | None = None) -> list:
    """Return the active users of ``agency`` without a primary method of ``allowed`` (default: its own rule)."""
    keys = allowed_keys(agency.allowed_methods) if allowed is None else allowed
    members = (members_with_methods(agency).filter(user__is_active=True)
               .exclude(compliant_condition(keys)).order_by("user_id"))
    return [membership.user for membership in members]


def members_newly_noncompliant(agency: Agency, *, before: Iterable[str], after: Iterable[str]) -> list:
    """Return the active users who had a method of ``before`` and have none of ``after``."""
    members = (members_with_methods(agency).filter(user__is_active=True)
               .filter(compliant_condition(before)).exclude(compliant_condition(after)).order_by("user_id"))
    return [membership.user for membership in members]


# --- The impact preview of a policy change ---------------------------------

def planned_deadline(agency: Agency, *, required: bool, grace_days: int, now: datetime) -> datetime | None:
    """The deadline ``agency`` would have with this requirement: counted from when it was first required."""
    if not required:
        return None
    since = agency.two_factor_required_since if agency.require_two_factor and agency.two_factor_required_since \
        else now
    return since + timedelta(days=grace_days)


@dataclass(frozen=True)
class ImpactGroup:
    """Members newly required to set up a method, by the primary methods they use (labels; none: ())."""

    methods: tuple[str, ...]
    count: int

    def describe(self) -> str:
        if not self.methods:
            return ngettext("%(count)d has none", "%(count)d have none", self.count) % {"count": self.count}
        return ngettext("%(count)d uses only %(methods)s", "%(count)d use only %(methods)s", self.count) % {
            "count": self.count, "methods": get_text_list(list(self.methods), _("and"))}


@dataclass(frozen=True)
class ImpactMember:
    name: str
    email: str
    methods: tuple[str, ...]  # labels of the primary methods they use


@dataclass(frozen=True)
class PolicyImpact:
    """Who a policy change worsens: newly required to set up a method, or newly blocked."""

    must_set_up: int = 0
    blocked: int = 0
    affected: int = 0
    groups: tuple[ImpactGroup, ...] = ()
    members: tuple[ImpactMember, ...] = ()

    @property
    def needs_preview(self) -> bool:
        return self.affected > 0

    @property
    def needs_acknowledgement(self) -> bool:
        """True when someone would be sent to set-up at once: the Owner must tick "I understand"."""
        return self.blocked > 0

    @property
    def more(self) -> int:
        return self.affected - len(self.members)

    def headline(self) -> str:
        """"This will require 12 users to set up a new method: 5 have none, 7 use only Text Messages." """
        if not self.must_set_up:
            return ""
        lead = ngettext("This will require %(count)d user to set up a new method",
                        "This will require %(count)d users to set up a new method",
                        self.must_set_up) % {"count": self.must_set_up}
        return f"{lead}: {', '.join(group.describe() for group in self.groups)}."

    def blocked_line(self) -> str:
        return ngettext(
            "%(count)d user will be blocked until they set up an allowed method.",
            "%(count)d users will be blocked until they set up an allowed method.",
            self.blocked) % {"count": self.blocked}

    def acknowledgement(self) -> str:
        return ngettext(
            "I understand %(count)d user will be blocked until they set up an allowed method",
            "I understand %(count)d users will be blocked until they set up an allowed method",
            self.blocked) % {"count": self.blocked}


NO_IMPACT = PolicyImpact()


def policy_impact(agency: Agency, new_allowed_keys: Iterable[str], *, required: bool, grace_days: int,
                  now: datetime | None = None) -> PolicyImpact:
    """Count the active members whose standing under ``agency``'s own rule the change would worsen.

    Two queries whatever the agency's size: the members grouped by which
    primary methods they have (at most 2**methods groups, judged here), then
    the first POLICY_IMPACT_LIST_SIZE affected members by name. Only this
    agency's rule counts; another agency's stricter rule is its own affair.
    """
    now = now or clock.now()
    if not agency.plan.allows_required_two_factor:
        return NO_IMPACT
    before = AgencyRule.of(agency)
    after = AgencyRule(required=required, allowed=allowed_keys(new_allowed_keys),
                       deadline=planned_deadline(agency, required=required, grace_days=grace_days, now=now))
    keys = [m.key for m in primary_methods()]
    labels = {m.key: str(m.label) for m in primary_methods()}
    members = members_with_methods(agency).filter(user__is_active=True)
    combos = members.values(*(f"has_{key}" for key in keys)).annotate(n=Count("pk")).order_by()
    must_set_up = blocked = affected = 0
    groups: dict[tuple[str, ...], int] = {}
    worse: list[Q] = []
    for combo in combos:
        active = {key for key in keys if combo[f"has_{key}"]}
        was, will = before.standing(active, now), after.standing(active, now)
        if _RANK[will] <= _RANK[was]:
            continue
        affected += combo["n"]
        worse.append(Q(**{f"has_{key}": key in active for key in keys}))
        if will == BLOCKED:
            blocked += combo["n"]
        if was == SET_UP:
            must_set_up += combo["n"]
            used = tuple(labels[key] for key in keys if key in active)
            groups[used] = groups.get(used, 0) + combo["n"]
    if not affected:
        return NO_IMPACT
    condition = worse[0]
    for q in worse[1:]:
        condition |= q
    listed = members.filter(condition).order_by("user__name", "user__email", "pk")[:app_settings.POLICY_IMPACT_LIST_SIZE]
    return PolicyImpact(
        must_set_up=must_set_up, blocked=blocked, affected=affected,
        # "5 have none" first, then the largest groups.
        groups=tuple(ImpactGroup(methods, count) for methods, count
                     in sorted(groups.items(), key=lambda item: (bool(item[0]), -item[1], item[0]))),
        members=tuple(ImpactMember(m.user.name, m.user.email,
                                   tuple(labels[key] for key in keys if getattr(m, f"has_{key}")))
                      for m in listed),
    )


@dataclass(frozen=True)
class SecurityLogFilters:
    """What the Security Log is narrowed to; empty fields do not filter."""

    user: str = ""  # part of the actor's or the target's email
    event_type: str = ""
    group: str = ""  # an accounts.audit_events group: every event type in it
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def security_log(agency: Agency, filters: SecurityLogFilters = SecurityLogFilters(), *,
                 user_email: str = "", event_type: str = "") -> QuerySet:
    """The agency's audit events, newest first, in one queryset (the CSV export streams it)."""
    if user_email or event_type:
        filters = replace(filters, user=filters.user or user_email, event_type=filters.event_type or event_type)
    recorded, of_members = _belongs_to(agency)
    return _filtered(AuditEvent.objects.filter(recorded | of_members), filters, _users_of(filters))


def _belongs_to(agency: Agency) -> tuple[Q, Q]:
    """The two kinds of events an agency's log holds: recorded against it, and its members' own.

    Events of another agency (agency set to it) stay out even when they
    involve one of our members; account-level events (sign-ins, methods)
    have no agency and belong to every agency of their user.
    """
    return Q(agency=agency), Q(agency__isnull=True, target_user_id__in=_member_ids(agency))


# An agency with up to this many members has their ids passed as a list.
_MEMBER_IDS_INLINE = 1000


def _member_ids(agency: Agency) -> list[int] | QuerySet:
    """The agency's member ids: a list for a small agency, else a subquery.

    Given the ids, PostgreSQL reads a small agency's few events through
    (target_user, created_at, id) instead of walking the whole table's recent
    events, of every agency, looking for them. A large agency's members make
    most of what it walks, so the subquery serves it as well.
    """
    members = Membership.objects.filter(agency=agency).values("user_id")
    ids = list(members.values_list("user_id", flat=True)[: _MEMBER_IDS_INLINE + 1])
    return ids if len(ids) <= _MEMBER_IDS_INLINE else members


def security_log_parts(agency: Agency, filters: SecurityLogFilters = SecurityLogFilters()) -> list[QuerySet]:
    """The log as two querysets, each newest first: events recorded against the agency, its members' own."""
    users = _users_of(filters)
    return [_filtered(AuditEvent.objects.filter(kind), filters, users) for kind in _belongs_to(agency)]


def _users_of(filters: SecurityLogFilters):
    return _users_matching(filters.user) if filters.user else None


def _filtered(events: QuerySet, filters: SecurityLogFilters, users) -> QuerySet:
    if users is not None:
        events = events.filter(Q(target_user_id__in=users) | Q(actor_id__in=users))
    if filters.event_type:
        events = events.filter(event_type=filters.event_type)
    if filters.group:
        events = events.filter(event_type__in=audit_events.codes_in_group(filters.group))
    if filters.since is not None:
        events = events.filter(created_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(created_at__lt=filters.until)
    return events.select_related("actor", "target_user").order_by("-created_at", "-id")


# Up to this many matching users are looked up first and passed as ids.
_USER_IDS_INLINE = 500


def _users_matching(part: str) -> list[int] | QuerySet:
    """The ids of users whose email contains ``part``.

    A handful of ids, known before the events are read, let PostgreSQL find
    their events through the (target_user, created_at) and (actor,
    created_at) indexes: a few rows instead of a scan of months of the log.
    A broad match ("@example.com") stays a subquery, and the log is read in
    time order with the match as a filter, as for no filter at all.
    """
    matching = User.objects.filter(email__icontains=part).values("pk")
    ids = list(matching.values_list("pk", flat=True)[: _USER_IDS_INLINE + 1])
    return ids if len(ids) <= _USER_IDS_INLINE else matching


def security_log_event_types() -> list[tuple[str, list[tuple[str, str]]]]:
    """The filter's event types in words, grouped (Sign-in, Methods, ...), from the catalogue.

    No query: a DISTINCT over a log of millions of rows on every page load
    would cost more than the page. Every recorded code is registered (a test
    walks the code base for them), so the catalogue lists them all.
    """
    return audit_events.grouped_choices()


def security_log_groups() -> list[tuple[str, str]]:
    """The filter's groups: (key, name in words)."""
    return [(key, str(label)) for key, label in audit_events.GROUPS.items()]


def security_log_filters(*, user: str = "", event_type: str = "", group: str = "",
                         date_from: date | None = None, date_to: date | None = None) -> SecurityLogFilters:
    """Turn the filter form's days into a range of instants: from the start of ``date_from``
    to the end of ``date_to``, both whole days in the site's timezone."""
    def start_of(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))

    return SecurityLogFilters(
        user=(user or "").strip(), event_type=event_type or "", group=group or "",
        since=start_of(date_from) if date_from else None,
        until=start_of(date_to + timedelta(days=1)) if date_to else None,
    )


@dataclass(frozen=True)
class LogRow:
    """One line of the Security Log: the event, and what it says in words."""

    event: AuditEvent
    description: str
    group: str  # in words ("Sign-in"), "" for an unregistered code
    method_name: str
    browser: str


@dataclass(frozen=True)
class SecurityLogPage:
    rows: list[LogRow]
    newer: str  # the cursor of the page of newer events, "" on the newest page
    older: str  # the cursor of the page of older events, "" on the oldest page


class BadCursor(ValueError):
    """A page link that is not one this page made."""


def _cursor(event: AuditEvent) -> str:
    """The position of an event in the log: its time in microseconds and its id."""
    micros = int(event.created_at.timestamp()) * 1_000_000 + event.created_at.microsecond
    return f"{micros}.{event.pk}"


def parse_cursor(value: str) -> tuple[datetime, int]:
    micros, _dot, pk = value.partition(".")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 17 or len(pk) > 19:
        raise BadCursor(value)
    seconds, rest = divmod(int(micros), 1_000_000)
    try:
        when = datetime.fromtimestamp(seconds, tz=dt_timezone.utc).replace(microsecond=rest)
    except (OverflowError, OSError, ValueError):
        raise BadCursor(value) from None
    return when, int(pk)


def security_log_page(agency: Agency, filters: SecurityLogFilters = SecurityLogFilters(), *,
                      older: str = "", newer: str = "") -> SecurityLogPage:
    """Return one page of the log in two queries, however long the log is.

    Keyset ("Older" / "Newer") pages instead of numbered ones: page 20,000
    costs what page 1 costs (an index range from the cursor), and no COUNT(*)
    runs over the agency's millions of rows. Raises BadCursor for a forged link.
    """
    size = app_settings.SECURITY_LOG_PAGE_SIZE
    # The two kinds of events are read apart, each through its own index in
    # the page's order (the agency's rows by (agency, created_at, id), the
    # members' by a time-ordered scan or their (target_user, created_at, id)
    # rows, whichever PostgreSQL finds cheaper for this agency), then merged
    # here. One query with an OR cannot use either index well: a 20-member
    # agency would scan the whole table's recent events for its own.
    parts = security_log_parts(agency, filters)
    if older:
        when, pk = parse_cursor(older)
        # The plain created_at bound is what the index range starts from; the
        # OR breaks ties between events of the same microsecond.
        parts = [part.filter(created_at__lte=when).filter(Q(created_at__lt=when) | Q(id__lt=pk)) for part in parts]
    elif newer:
        when, pk = parse_cursor(newer)
        parts = [part.filter(created_at__gte=when).filter(Q(created_at__gt=when) | Q(id__gt=pk))
                 .order_by("created_at", "id") for part in parts]
    found = sorted((event for part in parts for event in part[: size + 1]),
                   key=lambda event: (event.created_at, event.pk), reverse=not newer)[: size + 1]
    more = len(found) > size
    if newer and not more:
        # Back at the newest events: show the full first page, not a stub of it.
        return security_log_page(agency, filters)
    found = found[:size]
    if newer:
        found.reverse()
    rows = [log_row(event) for event in found]
    if not found:
        return SecurityLogPage(rows=[], newer="", older="")
    return SecurityLogPage(
        rows=rows,
        newer=_cursor(found[0]) if (older or (newer and more)) else "",
        older=_cursor(found[-1]) if (newer or more) else "",
    )


def log_row(event: AuditEvent) -> LogRow:
    return LogRow(
        event=event,
        description=audit_events.describe(event),
        group=audit_events.group_label(audit_events.group_of(event.event_type)),
        method_name=audit_events.method_name(event.method),
        browser=describe_browser(event.user_agent) if event.user_agent else "",
    )
