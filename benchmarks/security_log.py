"""Settings > Security Log over 1,000,000 audit events of a 10,000-member agency.

The rows are written by the database itself (INSERT ... SELECT over
generate_series on PostgreSQL, a recursive CTE on SQLite): audit.record()
one row at a time would take most of an hour. Their shape is the product's:
four in five are account-level (agency NULL, found through the membership),
one in five is recorded against the agency, spread over the last year.
"""
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from agencies.flows import create_agency
from agencies.models import Membership, Role
from ctm_auth import clock
from tests.fake_method.models import FakeDevice

EVENTS = 1_000_000
MEMBERS = 10_000
PASSWORD = "benchmark passphrase 2026"
CODES = ("signin.succeeded", "signin.failed", "reauth.succeeded", "signout", "mfa.totp.verification_failed",
         "trusted_browser.used", "session.revoked", "mfa.sms.sent", "password.changed", "mfa.backup_codes.used")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _insert_events(connection, *, agency_id: int, first_user_id: int) -> None:
    codes = "ARRAY[" + ",".join(f"'{code}'" for code in CODES) + "]"
    columns = ("created_at, event_type, actor_id, target_user_id, agency_id, attempted_email, method, "
               "ip_address, user_agent, data")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every 31.5 seconds back from now: a year of events. The member is
            # picked by a multiplicative step so neighbours in time differ.
            cursor.execute(f"""
                INSERT INTO accounts_auditevent ({columns})
                SELECT now() - g * interval '31.5 seconds', ({codes})[1 + g %% {len(CODES)}],
                       %s + (g * 7919) %% {MEMBERS}, %s + (g * 7919) %% {MEMBERS},
                       CASE WHEN g %% 5 = 0 THEN %s END, '', 'totp', '203.0.113.9', %s, '{{}}'::jsonb
                FROM generate_series(1::bigint, {EVENTS}) AS g
            """, [first_user_id, first_user_id, agency_id, FIREFOX])
            cursor.execute("ANALYZE accounts_auditevent")
        else:
            names = " ".join(f"WHEN {i} THEN '{code}'" for i, code in enumerate(CODES))
            cursor.execute(f"""
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {EVENTS})
                INSERT INTO accounts_auditevent ({columns})
                SELECT strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || (n * 31.5) || ' seconds'),
                       CASE n %% {len(CODES)} {names} END,
                       %s + (n * 7919) %% {MEMBERS}, %s + (n * 7919) %% {MEMBERS},
                       CASE WHEN n %% 5 = 0 THEN %s END, '', 'totp', '203.0.113.9', %s, '{{}}'
                FROM g
            """, [first_user_id, first_user_id, agency_id, FIREFOX])
            cursor.execute("ANALYZE")


def _plan(connection, querysets) -> str:
    """The indexes PostgreSQL's plans for the page's queries read, and its own timing."""
    if connection.vendor != "postgresql":
        return ""
    indexes, total = [], 0.0
    for queryset in querysets:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
        total += plan["Execution Time"]
        stack = [plan["Plan"]]
        while stack:
            node = stack.pop()
            if node.get("Index Name"):
                indexes.append(node["Index Name"])
            stack.extend(node.get("Plans", []))
    return f"[{', '.join(sorted(set(indexes))) or 'no index'}; {total:.1f} ms in PostgreSQL]"


def security_log(median_ms, report, connection):
    from agencies import selectors

    owner = User.objects.create_user("log-owner@example.test", PASSWORD, name="Log Owner")
    FakeDevice.objects.create(user=owner, name="fake", confirmed=True, code="424242")
    agency = create_agency(name="Log Agency", plan_code="growth", owner=owner)
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [User(email=f"log{i:05}@bench.test", name=f"Log Member {i:05}", password=unusable) for i in range(MEMBERS)],
        batch_size=2000,
    )
    ids = sorted(user.pk for user in users)
    assert ids[-1] - ids[0] + 1 == MEMBERS, "the members' ids must be one run for the bulk insert"
    Membership.objects.bulk_create([Membership(agency=agency, user=u, role=Role.USER) for u in users],
                                   batch_size=2000)
    _insert_events(connection, agency_id=agency.pk, first_user_id=ids[0])

    client = Client()
    client.post(reverse("accounts:login"), {"email": owner.email, "password": PASSWORD})
    client.post(reverse("accounts:login_verify"), {"code": "424242"})
    url = reverse("settings:security_log", args=[agency.pk])
    today = clock.now().date()
    member = users[4242]
    deep = AuditEvent.objects.order_by("-created_at", "-id")[900_000]
    deep_cursor = selectors._cursor(deep)
    cases = [
        ("first page", {}, selectors.SecurityLogFilters()),
        ("user + type + 90 days", {"user": member.email, "event_type": "signin.succeeded",
                                   "date_from": (today - timedelta(days=90)).isoformat(),
                                   "date_to": today.isoformat()},
         selectors.security_log_filters(user=member.email, event_type="signin.succeeded",
                                        date_from=today - timedelta(days=90), date_to=today)),
        ("one rare type (policy group)", {"group": "policy"}, selectors.security_log_filters(group="policy")),
        ("deep page (~900,000 rows back)", {"older": deep_cursor}, None),
        ("one day, 6 months ago", {"date_from": (today - timedelta(days=180)).isoformat(),
                                   "date_to": (today - timedelta(days=180)).isoformat()},
         selectors.security_log_filters(date_from=today - timedelta(days=180),
                                        date_to=today - timedelta(days=180))),
    ]
    # A small agency in the same database: its 200 events are spread over
    # the year among the large agency's million.
    small_owner = User.objects.create_user("small-owner@example.test", PASSWORD, name="Small Owner")
    FakeDevice.objects.create(user=small_owner, name="fake", confirmed=True, code="424242")
    small = create_agency(name="Small Agency", plan_code="growth", owner=small_owner)
    for i in range(20):
        user = User.objects.create_user(f"small{i:02}@bench.test", None, name=f"Small {i:02}")
        Membership.objects.create(agency=small, user=user, role=Role.USER)
        AuditEvent.objects.bulk_create([AuditEvent(
            created_at=clock.now() - timedelta(days=36 * k + i), event_type="signin.succeeded", actor=user,
            target_user=user, method="totp", user_agent=FIREFOX) for k in range(10)])
    with connection.cursor() as cursor:
        # Every table, as autovacuum would have by now: the members and
        # memberships written above too. With the audit table's statistics
        # alone, the planner took this agency's 10,000 members for a few and
        # read each one's events through its index, a million rows for the
        # first page (3.7 s instead of milliseconds).
        cursor.execute("ANALYZE")
    small_client = Client()
    small_client.post(reverse("accounts:login"), {"email": small_owner.email, "password": PASSWORD})
    small_client.post(reverse("accounts:login_verify"), {"code": "424242"})

    def small_page():
        assert small_client.get(reverse("settings:security_log", args=[small.pk])).status_code == 200

    print(f"  ({AuditEvent.objects.count():,} audit events, {MEMBERS:,} members)")
    report("Security Log, 1M events: a 20-member agency's first page", median_ms(small_page, runs=9), "ms",
           _plan(connection, [part[:51] for part in selectors.security_log_parts(small)]))
    for name, params, filters in cases:
        def page(params=params):
            response = client.get(url, params)
            assert response.status_code == 200, response.status_code

        executed = []
        with connection.execute_wrapper(lambda execute, sql, p, many, context, log=executed: log.append(sql)
                                        or execute(sql, p, many, context)):
            page()
        parts = (selectors.security_log_parts(agency, filters) if filters is not None else
                 [part.filter(created_at__lte=deep.created_at) for part in selectors.security_log_parts(agency)])
        report(f"Security Log, 1M events: {name}", median_ms(page, runs=9), "ms",
               f"({len(executed)} queries) {_plan(connection, [part[:51] for part in parts])}")
