"""Settings > Security Log: the agency's audit events, filtered, paginated, exported."""
import csv
import io
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from tests.conftest import add_fake_device, sign_in


def log_url(agency) -> str:
    return reverse("settings:security_log", args=[agency.pk])


@pytest.fixture
def admin_browser(acme) -> Client:
    client = Client()
    add_fake_device(acme.admin)
    assert sign_in(client, acme.admin).status_code == 302
    return client


def test_security_log_lists_members_events_not_other_agencies(admin_browser, acme, solo):
    sign_in(Client(), acme.bob, password="wrong password entirely")
    sign_in(Client(), solo.owner, password="wrong password entirely")
    page = admin_browser.get(log_url(acme.agency)).content.decode()
    assert "Someone failed to sign in as Bob Example (wrong password)" in page and "bob@acme.test" in page
    assert "owner@solo.test" not in page and "Sam Solo" not in page


def test_security_log_filters_by_user_and_event_type(admin_browser, acme):
    sign_in(Client(), acme.bob, password="wrong password entirely")
    sign_in(Client(), acme.alice, code=None)
    by_user = admin_browser.get(log_url(acme.agency), {"user": "alice@"}).content.decode()
    assert "alice@acme.test" in by_user and "bob@acme.test" not in by_user
    by_type = admin_browser.get(log_url(acme.agency), {"event_type": audit.SIGN_IN_FAILED}).content.decode()
    rows = by_type.count('class="log-row"')
    assert rows == 1 and "bob@acme.test" in by_type


def test_security_log_paginates_older_and_newer(admin_browser, acme, settings):
    settings.AGENCIES_SECURITY_LOG_PAGE_SIZE = 2
    for _ in range(3):
        sign_in(Client(), acme.bob, password="wrong password entirely")
    first = admin_browser.get(log_url(acme.agency)).content.decode()
    assert first.count('class="log-row"') == 2 and "Older" in first and "Newer" not in first


def test_security_log_csv_export(admin_browser, acme):
    sign_in(Client(), acme.bob, password="wrong password entirely", code=None)
    response = admin_browser.get(log_url(acme.agency), {"format": "csv", "event_type": audit.SIGN_IN_FAILED})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="security-log-agency-{acme.agency.pk}.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "event", "event_description", "group", "actor", "target",
                       "method", "method_name", "ip_address", "user_agent"]
    assert rows[1][1:9] == ["signin.failed", "Someone failed to sign in as Bob Example (wrong password)", "Sign-in",
                            "", "bob@acme.test", "password", "Password", "127.0.0.1"]
    assert len(rows) == 2


def test_security_log_csv_neutralises_formulas(admin_browser, acme):
    Client(HTTP_USER_AGENT="=HYPERLINK(\"http://evil.example\")").post(
        reverse("accounts:login"), {"email": "bob@acme.test", "password": "wrong password entirely"}
    )
    response = admin_browser.get(log_url(acme.agency), {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in body and ",=HYPERLINK" not in body


@pytest.mark.parametrize("who", ["alice", "solo_owner"])
def test_security_log_refused_for_users_and_other_agencies(acme, solo, who):
    client = Client()
    sign_in(client, acme.alice if who == "alice" else solo.owner, code=None)
    assert client.get(log_url(acme.agency)).status_code == 404
    assert client.get(log_url(acme.agency), {"format": "csv"}).status_code == 404


def test_security_log_leaves_out_another_agencys_events_about_a_shared_member(admin_browser, acme, make_user):
    """bob is a User at Acme and the Administrator of Other Co: Other Co's events stay there."""
    from agencies.flows import add_member, create_agency
    from agencies.models import Role

    carol = make_user("carol@other.test")
    other = create_agency(name="Other Co", plan_code="growth", owner=carol)
    add_member(agency=other, user=acme.bob, role=Role.ADMIN)
    audit.record(None, "agency.member_method_reset", actor=acme.bob, target=carol, agency=other, method="totp")
    page = admin_browser.get(log_url(acme.agency)).content.decode()
    csv_body = b"".join(admin_browser.get(log_url(acme.agency), {"format": "csv"}).streaming_content).decode()
    assert "carol@other.test" not in page and "carol@other.test" not in csv_body


# --- words, groups, dates, pages (issue 12, section 4) ------------------------------

def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr class="log-row" data-event="([^"]+)"', html)


def record_at(when: datetime, code: str, *, actor, target, **fields):
    """Record through audit.record, then set its time: the dates tests need days apart."""
    event = audit.record(None, code, actor=actor, target=target, **fields)
    AuditEvent.objects.filter(pk=event.pk).update(created_at=when)
    return event


def test_security_log_says_what_happened_in_words(admin_browser, acme):
    from agencies.flows import MEMBER_METHOD_RESET

    # Recorded as agencies.flows.reset_member_method records it (its own tests drive the flow).
    audit.record(None, MEMBER_METHOD_RESET, actor=acme.admin, target=acme.alice, agency=acme.agency, method="fake")
    page = admin_browser.get(log_url(acme.agency)).content.decode()

    assert "Adam Admin disabled Fake code for Alice Example" in page
    assert "Adam Admin signed in with Fake code from" in page
    assert ">agency.member_method_reset<" not in page


def test_security_log_filter_names_event_types_in_words_grouped(admin_browser, acme):
    page = admin_browser.get(log_url(acme.agency)).content.decode()
    select = page.split('name="event_type"', 1)[1].split("</select>", 1)[0]

    assert re.findall(r'<optgroup label="([^"]+)">', select) == ["Sign-in", "Methods", "Administration", "Policy"]
    assert '<option value="signin.failed">Failed sign-in</option>' in select
    assert '<option value="mfa.totp.disabled">Google Authenticator disabled</option>' in select
    assert '<option value="agency.two_factor_policy_changed">Security policy changed</option>' in select
    groups = page.split('name="group"', 1)[1].split("</select>", 1)[0]
    assert '<option value="policy">Policy</option>' in groups


def test_security_log_filters_by_group(admin_browser, acme):
    from agencies.flows import TWO_FACTOR_POLICY_CHANGED

    sign_in(Client(), acme.bob, password="wrong password entirely")
    audit.record(None, TWO_FACTOR_POLICY_CHANGED, actor=acme.owner, target=acme.owner, agency=acme.agency,
                 data={"required": True, "grace_days": 7, "previously_required": False})
    policy = admin_browser.get(log_url(acme.agency), {"group": "policy"}).content.decode()
    sign_ins = admin_browser.get(log_url(acme.agency), {"group": "sign_in"}).content.decode()

    assert rows_of(policy) == ["agency.two_factor_policy_changed"]
    assert "Olivia Owner required two-factor authentication (grace 7 days)" in policy
    assert "agency.two_factor_policy_changed" not in rows_of(sign_ins) and "signin.failed" in rows_of(sign_ins)


def test_security_log_date_range_is_inclusive_in_the_readers_timezone(admin_browser, acme):
    acme.admin.time_zone = "America/New_York"  # UTC-5 in December (Profile > Preferences)
    acme.admin.save()
    new_york = ZoneInfo("America/New_York")
    for day, hour in ((1, 0), (1, 23), (2, 12), (3, 23), (4, 0)):
        record_at(datetime(2026, 12, day, hour, 30, tzinfo=new_york), audit.PASSWORD_CHANGED,
                  actor=acme.bob, target=acme.bob, data={"day": day})

    page = admin_browser.get(log_url(acme.agency), {"date_from": "2026-12-01", "date_to": "2026-12-03",
                                                    "event_type": audit.PASSWORD_CHANGED})
    shown = AuditEvent.objects.filter(event_type=audit.PASSWORD_CHANGED).order_by("-created_at")
    times = [e.created_at.astimezone(new_york).strftime("%Y-%m-%d %H:%M") for e in shown]

    assert page.status_code == 200
    assert len(rows_of(page.content.decode())) == 4  # 1 Dec 00:30 to 3 Dec 23:30 New York time, not 4 Dec
    assert times[0] == "2026-12-04 00:30"  # 05:30 UTC on 4 Dec: outside, though "3 Dec" at UTC-5 ended then
    one_day = admin_browser.get(log_url(acme.agency), {"date_from": "2026-12-04", "date_to": "2026-12-04",
                                                       "event_type": audit.PASSWORD_CHANGED}).content.decode()
    assert len(rows_of(one_day)) == 1


@pytest.mark.parametrize(("query", "message"), [
    ({"date_from": "2026-12-05", "date_to": "2026-12-01"}, "The “To” date is before the “From” date."),
    ({"date_from": "5 December"}, "Enter the “From” date as YYYY-MM-DD."),
    ({"date_to": "2026-02-30"}, "Enter the “To” date as YYYY-MM-DD."),
    ({"date_to": "9999-12-31"}, "Enter a date between 1970 and 9998."),
    ({"event_type": "no.such_event"}, "Select a valid choice."),
    ({"group": "everything"}, "Select a valid choice."),
])
def test_security_log_refuses_a_bad_filter_and_lists_nothing(admin_browser, acme, query, message):
    sign_in(Client(), acme.bob, password="wrong password entirely")
    page = admin_browser.get(log_url(acme.agency), query)
    csv_export = admin_browser.get(log_url(acme.agency), {**query, "format": "csv"})

    assert page.status_code == 400 and message in page.content.decode()
    assert rows_of(page.content.decode()) == [] and "Correct the filter above to see events." in page.content.decode()
    assert csv_export.status_code == 400 and csv_export["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("cursor", ["garbage", "1.2.3", "99999999999999999999.1", "-5.3", ""])
def test_security_log_refuses_a_forged_page_link(admin_browser, acme, cursor):
    response = admin_browser.get(log_url(acme.agency), {"older": cursor})
    if cursor == "":
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert "That page link is not valid." in response.content.decode()


def test_security_log_pages_walk_every_event_once_both_ways(admin_browser, acme, settings):
    settings.AGENCIES_SECURITY_LOG_PAGE_SIZE = 3
    same_instant = datetime(2026, 12, 1, 12, 0, tzinfo=dt_timezone.utc)
    # Seven events at one instant and three at others: the cursor must break ties by id.
    expected = [record_at(same_instant if i < 7 else same_instant + timedelta(minutes=i), audit.PASSWORD_CHANGED,
                          actor=acme.bob, target=acme.bob).pk for i in range(10)]
    params = {"event_type": audit.PASSWORD_CHANGED}
    seen, cursors, html = [], [], admin_browser.get(log_url(acme.agency), params).content.decode()
    while True:
        seen += _pks(html)
        older = re.search(r'older=([0-9.]+)', html)
        if not older:
            break
        cursors.append(older.group(1))
        html = admin_browser.get(log_url(acme.agency), {**params, "older": older.group(1)}).content.decode()
    newest_first = sorted(expected, key=lambda pk: (AuditEvent.objects.get(pk=pk).created_at, pk), reverse=True)

    assert seen == newest_first and len(cursors) == 3
    back = admin_browser.get(log_url(acme.agency), {**params, "newer": re.search(r'newer=([0-9.]+)', html).group(1)})
    assert _pks(back.content.decode()) == newest_first[6:9]


def _pks(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-event-id="(\d+)"', html)]


def test_security_log_page_is_a_fixed_number_of_queries_whatever_the_size(admin_browser, acme, settings):
    settings.AGENCIES_SECURITY_LOG_PAGE_SIZE = 5

    def queries_for_a_page(extra_events: int) -> int:
        for i in range(extra_events):
            audit.record(None, audit.SIGN_IN_FAILED, actor=None, target=acme.bob if i % 2 else acme.alice,
                         method="password", attempted_email="bob@acme.test")
        with CaptureQueriesContext(connection) as captured:
            page = admin_browser.get(log_url(acme.agency), {"user": "acme.test", "group": "sign_in",
                                                            "date_from": "1970-01-01"})
            deeper = re.search(r'older=([0-9.]+)', page.content.decode()).group(1)
        with CaptureQueriesContext(connection) as captured_deeper:
            admin_browser.get(log_url(acme.agency), {"older": deeper})
        return [q["sql"] for q in captured.captured_queries], [q["sql"] for q in captured_deeper.captured_queries]

    admin_browser.get(log_url(acme.agency))  # the session's first request writes it; later ones do not
    small, large = queries_for_a_page(6), queries_for_a_page(60)
    assert [len(queries) for queries in small] == [len(queries) for queries in large]
    assert not any("COUNT(" in sql.upper() for queries in large for sql in queries)
    assert sum('FROM "accounts_auditevent"' in sql for sql in large[0]) == 2  # the agency's rows, the members'


def test_security_log_csv_neutralises_formulas_in_names_and_words(admin_browser, acme):
    acme.bob.name = '=HYPERLINK("http://evil.example","Click")'
    acme.bob.save(update_fields=["name"])
    audit.record(None, audit.PASSWORD_CHANGED, actor=acme.bob, target=acme.bob)
    Client(HTTP_USER_AGENT="  @SUM(1+1)").post(
        reverse("accounts:login"), {"email": "bob@acme.test", "password": "wrong password entirely"})
    response = admin_browser.get(log_url(acme.agency), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows[1:] for cell in row]

    assert "'=HYPERLINK(\"http://evil.example\",\"Click\") changed their password" in cells
    assert "'  @SUM(1+1)" in cells
    dangerous = [cell for cell in cells if cell[:1] != "'" and cell.lstrip()[:1] in ("=", "+", "-", "@")]
    assert dangerous == []


@pytest.mark.parametrize("inline", [True, False])
def test_security_log_lists_the_same_events_for_a_small_or_a_large_agency(admin_browser, acme, monkeypatch, inline):
    """Ids passed as a list (a small agency, a narrow user match) or as subqueries: the same page."""
    from agencies import selectors

    if not inline:
        monkeypatch.setattr(selectors, "_MEMBER_IDS_INLINE", 0)
        monkeypatch.setattr(selectors, "_USER_IDS_INLINE", 0)
    sign_in(Client(), acme.bob, password="wrong password entirely")
    audit.record(None, "agency.member_method_reset", actor=acme.admin, target=acme.alice, agency=acme.agency,
                 method="fake")
    everything = rows_of(admin_browser.get(log_url(acme.agency)).content.decode())
    by_admin = rows_of(admin_browser.get(log_url(acme.agency), {"user": "admin@acme"}).content.decode())

    assert everything[:2] == ["agency.member_method_reset", "signin.failed"]
    assert by_admin == ["agency.member_method_reset", "signin.succeeded"]
