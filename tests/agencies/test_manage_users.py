"""Settings > Manage Users: every member, their 2FA status, search, filter, pages, scale."""
import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from agencies.flows import create_agency
from agencies.models import Membership, Role, SubAccount
from tests.conftest import add_fake_device, sign_in
from tests.fake_method.models import FakeDevice


def manage_users_url(agency) -> str:
    return reverse("settings:manage_users", args=[agency.pk])


@pytest.fixture
def owner_client(client, acme):
    add_fake_device(acme.owner)
    assert sign_in(client, acme.owner).status_code == 302
    return client


def test_manage_users_lists_members_with_role_subaccounts_and_methods(owner_client, acme):
    add_fake_device(acme.alice)
    page = owner_client.get(manage_users_url(acme.agency)).content.decode()
    for member in (acme.owner, acme.admin, acme.alice, acme.bob):
        assert member.email in page
    assert "Agency Administrator" in page and "Acme Dental, Acme Plumbing" in page
    assert "2 of 4 users have two-factor authentication" in page
    alice_row = page[page.index('data-email="alice@acme.test"'):]
    alice_row = alice_row[: alice_row.index("</tr>")]
    assert "in-use-dot" in alice_row and "Fake code" in alice_row
    bob_row = page[page.index('data-email="bob@acme.test"'):]
    assert "Not enabled" in bob_row[: bob_row.index("</tr>")]


def test_manage_users_search_by_name_or_email(owner_client, acme):
    page = owner_client.get(manage_users_url(acme.agency), {"q": "ALICE"}).content.decode()
    assert "alice@acme.test" in page and "bob@acme.test" not in page
    page = owner_client.get(manage_users_url(acme.agency), {"q": "Bob Ex"}).content.decode()
    assert "bob@acme.test" in page and "alice@acme.test" not in page


def test_manage_users_filter_two_factor_not_enabled(owner_client, acme):
    add_fake_device(acme.alice)
    page = owner_client.get(manage_users_url(acme.agency), {"without_two_factor": "on"}).content.decode()
    assert "bob@acme.test" in page and "admin@acme.test" in page
    assert 'data-email="alice@acme.test"' not in page and 'data-email="owner@acme.test"' not in page
    # The compliance line always counts the whole agency.
    assert "2 of 4 users have two-factor authentication" in page


def test_manage_users_paginates(owner_client, acme, settings):
    settings.AGENCIES_MANAGE_USERS_PAGE_SIZE = 3
    first = owner_client.get(manage_users_url(acme.agency)).content.decode()
    second = owner_client.get(manage_users_url(acme.agency), {"page": 2}).content.decode()
    assert "Page 1 of 2" in first and first.count('class="member-row"') == 3
    assert "Page 2 of 2" in second and second.count('class="member-row"') == 1
    assert 'data-email="owner@acme.test"' in second  # ordered by name: Olivia last


def test_manage_users_edit_link_only_for_members_the_actor_may_manage(client, acme):
    add_fake_device(acme.admin)
    assert sign_in(client, acme.admin).status_code == 302
    page = client.get(manage_users_url(acme.agency)).content.decode()
    edit = lambda user: reverse("settings:edit_user", args=[acme.agency.pk, user.pk])  # noqa: E731
    assert edit(acme.alice) in page and edit(acme.bob) in page
    assert edit(acme.owner) not in page and edit(acme.admin) not in page


@pytest.mark.parametrize("who", ["alice", "other_agency_owner", "anonymous"])
def test_manage_users_refused_for_non_managers(client, acme, solo, who):
    if who == "alice":
        sign_in(client, acme.alice)
    elif who == "other_agency_owner":
        sign_in(client, solo.owner)
    response = client.get(manage_users_url(acme.agency))
    if who == "anonymous":
        assert response.status_code == 302 and reverse("accounts:login") in response.url
    else:
        assert response.status_code == 404


def _build_agency(owner, *, subaccounts: int, users: int, with_devices_every: int = 3):
    """A generated agency, written in bulk (the product's flows would take minutes)."""
    agency = create_agency(name=f"Big {owner.email}", plan_code="growth", owner=owner)
    subs = SubAccount.objects.bulk_create(
        [SubAccount(agency=agency, name=f"Sub {i:03}") for i in range(subaccounts)]
    )
    unusable = make_password(None)
    members = User.objects.bulk_create(
        [User(email=f"u{i:05}.{agency.pk}@big.test", name=f"User {i:05}", password=unusable) for i in range(users)],
        batch_size=2000,
    )
    memberships = Membership.objects.bulk_create(
        [Membership(agency=agency, user=user, role=Role.USER) for user in members], batch_size=2000
    )
    Through = Membership.subaccounts.through
    Through.objects.bulk_create(
        [Through(membership_id=m.pk, subaccount_id=subs[i % len(subs)].pk) for i, m in enumerate(memberships)],
        batch_size=2000,
    )
    FakeDevice.objects.bulk_create(
        [FakeDevice(user=user, name="fake", confirmed=True, code="1") for user in members[::with_devices_every]],
        batch_size=2000,
    )
    return agency


def _queries_for_page(client, agency, **params) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(manage_users_url(agency), params)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_manage_users_query_count_is_fixed_for_a_10000_user_agency(client, make_user, django_assert_max_num_queries):
    small_owner, big_owner = make_user("small@owner.test"), make_user("big@owner.test")
    small = _build_agency(small_owner, subaccounts=2, users=5)
    big = _build_agency(big_owner, subaccounts=200, users=10_000)

    small_client = client
    sign_in(small_client, small_owner, code=None)
    small_count, _ = _queries_for_page(small_client, small)

    from django.test import Client

    big_client = Client()
    sign_in(big_client, big_owner, code=None)
    big_count, page = _queries_for_page(big_client, big)
    assert "3334 of 10001 users have two-factor authentication" in page
    assert page.count('class="member-row"') == 50
    assert big_count == small_count
    with django_assert_max_num_queries(small_count):
        big_client.get(manage_users_url(big), {"q": "User 09", "without_two_factor": "on", "page": 3})


def test_manage_users_hides_edit_for_a_member_who_owns_another_agency(client, acme):
    create_agency(name="Bob's Agency", plan_code="growth", owner=acme.bob)
    add_fake_device(acme.admin)
    assert sign_in(client, acme.admin).status_code == 302
    page = client.get(manage_users_url(acme.agency)).content.decode()
    assert reverse("settings:edit_user", args=[acme.agency.pk, acme.bob.pk]) not in page
    assert reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk]) in page
    assert client.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.bob.pk])).status_code == 404


def test_manage_users_compliance_line_is_singular_for_one_user(client, solo):
    add_fake_device(solo.owner)
    assert sign_in(client, solo.owner).status_code == 302

    page = client.get(manage_users_url(solo.agency)).content.decode()

    assert "1 of 1 user has two-factor authentication" in page
    assert "users have" not in page


def test_a_member_removed_while_the_page_is_read_is_left_out(owner_client, acme):
    """The page's ids and its rows are two statements; a removal between them must not break the page."""
    removed = []

    def remove_bob_once_the_ids_are_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not removed and sql.startswith('SELECT "agencies_membership"."id" AS "pk" FROM') and "ORDER BY" in sql:
            removed.append(True)  # another administrator's removal, between the two statements
            Membership.objects.filter(agency=acme.agency, user=acme.bob).delete()
        return result

    with connection.execute_wrapper(remove_bob_once_the_ids_are_read):
        response = owner_client.get(manage_users_url(acme.agency))

    page = response.content.decode()
    assert removed and response.status_code == 200
    assert acme.alice.email in page and acme.bob.email not in page
