"""Settings > Manage Users: each member's deadline or "Blocked" under this agency's rule, and the filter."""
from django.test import Client
from django.urls import reverse

from agencies import flows
from agencies.flows import create_agency
from ctm_auth.dates import format_day
from tests.agencies.policy_helpers import add_members, give_methods
from tests.conftest import add_fake_device, sign_in

DAY = 86400


def manage_users_url(agency) -> str:
    return reverse("settings:manage_users", args=[agency.pk])


def require(agency, owner, *, grace_days: int, allowed: list[str] | None = None):
    return flows.set_security_policy(None, actor=owner, agency=agency, confirmed=True, acknowledged=True,
                                     policy=flows.SecurityPolicy(required=True, grace_days=grace_days,
                                                                 allowed_methods=allowed or []))


def owner_page(acme, **params) -> str:
    client = Client()
    assert sign_in(client, acme.owner).status_code == 302
    return client.get(manage_users_url(acme.agency), params).content.decode()


def row_of(page: str, email: str) -> str:
    row = page[page.index(f'data-email="{email}"'):]
    return row[: row.index("</tr>")]


def emails(page: str) -> set[str]:
    return {email for email in ("owner@acme.test", "admin@acme.test", "alice@acme.test", "bob@acme.test")
            if f'data-email="{email}"' in page}


def test_members_without_an_allowed_method_show_their_deadline(acme):
    add_fake_device(acme.owner)
    give_methods(acme.alice, ["sms"])  # not allowed here
    add_fake_device(acme.admin)
    agency = require(acme.agency, acme.owner, grace_days=7, allowed=["fake"])
    page = owner_page(acme)
    due = f"Due {format_day(agency.two_factor_deadline)}"
    assert due in row_of(page, "alice@acme.test") and due in row_of(page, "bob@acme.test")
    assert "Due" not in row_of(page, "admin@acme.test") and "Blocked" not in row_of(page, "admin@acme.test")
    assert "Text Messages" in row_of(page, "alice@acme.test")


def test_members_are_blocked_once_the_deadline_passes_or_with_grace_zero(acme, clock):
    add_fake_device(acme.owner)
    require(acme.agency, acme.owner, grace_days=1)
    assert "Due " in row_of(owner_page(acme), "bob@acme.test")
    clock.advance(DAY + 60)
    page = owner_page(acme)
    assert "Blocked" in row_of(page, "bob@acme.test") and 'class="standing due"' not in page
    require(acme.agency, acme.owner, grace_days=0)
    assert "Blocked" in row_of(owner_page(acme), "alice@acme.test")


def test_nothing_is_due_while_the_agency_does_not_require_two_factor(acme):
    add_fake_device(acme.owner)
    page = owner_page(acme)
    assert 'class="standing' not in page
    assert emails(owner_page(acme, standing="due")) == set()
    assert emails(owner_page(acme, standing="set_up")) == {"owner@acme.test"}


def test_filter_by_two_factor_status(acme, clock):
    add_fake_device(acme.owner)
    give_methods(acme.alice, ["sms"])
    add_fake_device(acme.admin)
    require(acme.agency, acme.owner, grace_days=3, allowed=["fake"])
    page = owner_page(acme)
    assert "Two-factor status" in page and '<option value="blocked">Blocked</option>' in page
    assert emails(owner_page(acme, standing="set_up")) == {"owner@acme.test", "admin@acme.test"}
    assert emails(owner_page(acme, standing="due")) == {"alice@acme.test", "bob@acme.test"}
    assert emails(owner_page(acme, standing="blocked")) == set()
    assert emails(owner_page(acme, standing="")) == emails(page) and len(emails(page)) == 4
    # "2FA not enabled" still means no method at all: alice has one, though not an allowed one.
    assert emails(owner_page(acme, without_two_factor="on")) == {"bob@acme.test"}
    clock.advance(3 * DAY + 60)
    assert emails(owner_page(acme, standing="blocked")) == {"alice@acme.test", "bob@acme.test"}
    assert emails(owner_page(acme, standing="due")) == set()
    assert emails(owner_page(acme, standing="blocked", q="alice")) == {"alice@acme.test"}


def test_an_unknown_status_is_ignored_not_an_error(acme):
    add_fake_device(acme.owner)
    client = Client()
    sign_in(client, acme.owner)
    response = client.get(manage_users_url(acme.agency), {"standing": "everyone'--"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_status_filter_costs_the_same_queries_whatever_the_size(make_user, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (5, 1500):
        owner = make_user(f"owner{size}@gen.test")
        add_fake_device(owner)
        agency = create_agency(name=f"Gen {size}", plan_code="growth", owner=owner)
        add_members(agency, {(): size // 3, ("sms",): size // 3, ("fake",): size - 2 * (size // 3)},
                    prefix=f"g{size}m")
        require(agency, owner, grace_days=7, allowed=["fake"])
        client = Client()
        sign_in(client, owner)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(manage_users_url(agency), {"standing": "due"}).content.decode()
        counts.append(len(queries))
        assert page.count('class="member-row"') == min(50, 2 * (size // 3))
    assert counts[0] == counts[1]
