"""Settings > Security Log: the agency's audit events, filtered, paginated, exported."""
import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from accounts import audit
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
    assert "signin.failed" in page and "bob@acme.test" in page
    assert "owner@solo.test" not in page


def test_security_log_filters_by_user_and_event_type(admin_browser, acme):
    sign_in(Client(), acme.bob, password="wrong password entirely")
    sign_in(Client(), acme.alice, code=None)
    by_user = admin_browser.get(log_url(acme.agency), {"user": "alice@"}).content.decode()
    assert "alice@acme.test" in by_user and "bob@acme.test" not in by_user
    by_type = admin_browser.get(log_url(acme.agency), {"event_type": audit.SIGN_IN_FAILED}).content.decode()
    rows = by_type.count('class="log-row"')
    assert rows == 1 and "bob@acme.test" in by_type


def test_security_log_paginates(admin_browser, acme, settings):
    settings.AGENCIES_SECURITY_LOG_PAGE_SIZE = 2
    for _ in range(3):
        sign_in(Client(), acme.bob, password="wrong password entirely")
    first = admin_browser.get(log_url(acme.agency)).content.decode()
    assert first.count('class="log-row"') == 2 and "Page 1 of" in first


def test_security_log_csv_export(admin_browser, acme):
    sign_in(Client(), acme.bob, password="wrong password entirely", code=None)
    response = admin_browser.get(log_url(acme.agency), {"format": "csv", "event_type": audit.SIGN_IN_FAILED})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="security-log-agency-{acme.agency.pk}.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "event", "actor", "target", "method", "ip_address", "user_agent"]
    assert rows[1][1:6] == ["signin.failed", "", "bob@acme.test", "password", "127.0.0.1"]


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
