"""`manage.py seed_demo`: exactly the issue's demo data, every password working, safe to rerun."""
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from agencies.management.commands.seed_demo import DEFAULT_DEMO_PASSWORD
from agencies.models import Agency, Membership, Role, SubAccount
from tests.conftest import sign_in

DEMO_EMAILS = {"owner@acme.test", "admin@acme.test", "alice@acme.test", "bob@acme.test", "owner@solo.test"}


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row the command writes, in a comparable form."""
    return {
        "users": sorted(User.objects.values_list("email", "name", "password")),
        "agencies": sorted(Agency.objects.values_list("pk", "name", "plan__code")),
        "subaccounts": sorted(SubAccount.objects.values_list("pk", "agency__name", "name")),
        "memberships": sorted(Membership.objects.values_list("pk", "user__email", "agency__name", "role")),
        "access": sorted(Membership.subaccounts.through.objects.values_list("membership_id", "subaccount_id")),
    }


@pytest.fixture
def no_demo_password_env(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


@pytest.mark.django_db
def test_seed_demo_creates_the_agencies_on_their_plans(no_demo_password_env):
    seed_demo()

    assert dict(Agency.objects.values_list("name", "plan__code")) == {
        "Acme Agency": "growth",
        "Solo Shop": "starter",
    }
    assert sorted(SubAccount.objects.values_list("agency__name", "name")) == [
        ("Acme Agency", "Acme Dental"),
        ("Acme Agency", "Acme Plumbing"),
    ]


@pytest.mark.django_db
def test_seed_demo_places_the_agencies_in_their_country_and_time_zone(no_demo_password_env):
    seed_demo()

    assert set(Agency.objects.values_list("name", "country", "time_zone")) == {
        ("Acme Agency", "US", "America/New_York"),
        ("Solo Shop", "ES", "Europe/Madrid"),
    }


@pytest.mark.django_db
def test_seed_demo_creates_the_users_with_their_roles(no_demo_password_env):
    seed_demo()

    assert set(User.objects.values_list("email", flat=True)) == DEMO_EMAILS
    assert set(Membership.objects.values_list("user__email", "agency__name", "role")) == {
        ("owner@acme.test", "Acme Agency", Role.OWNER),
        ("admin@acme.test", "Acme Agency", Role.ADMIN),
        ("alice@acme.test", "Acme Agency", Role.USER),
        ("bob@acme.test", "Acme Agency", Role.USER),
        ("owner@solo.test", "Solo Shop", Role.OWNER),
    }


@pytest.mark.django_db
def test_seed_demo_gives_users_their_subaccounts(no_demo_password_env):
    seed_demo()

    def subaccounts_of(email: str) -> set[str]:
        membership = Membership.objects.get(user__email=email)
        return set(membership.subaccounts.values_list("name", flat=True))

    assert subaccounts_of("alice@acme.test") == {"Acme Dental"}
    assert subaccounts_of("bob@acme.test") == {"Acme Plumbing"}
    assert SubAccount.objects.filter(agency__name="Solo Shop").count() == 0


@pytest.mark.django_db
def test_seed_demo_every_password_is_the_default(no_demo_password_env):
    output = seed_demo()

    for user in User.objects.all():
        assert user.check_password(DEFAULT_DEMO_PASSWORD), user.email
    assert DEFAULT_DEMO_PASSWORD == "ctm-demo-2fa!"
    for email in DEMO_EMAILS:
        assert email in output


@pytest.mark.django_db
def test_seed_demo_sign_in_through_the_login_page(client, no_demo_password_env):
    seed_demo()

    response = sign_in(client, User.objects.get(email="owner@acme.test"), password=DEFAULT_DEMO_PASSWORD)

    assert response.status_code == 302
    assert client.get(response.url).status_code == 200


@pytest.mark.django_db
def test_seed_demo_demo_password_env_overrides_default(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another long demo passphrase")

    seed_demo()

    for user in User.objects.all():
        assert user.check_password("another long demo passphrase"), user.email
        assert not user.check_password(DEFAULT_DEMO_PASSWORD), user.email


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(monkeypatch, no_demo_password_env):
    seed_demo()
    first = snapshot()

    monkeypatch.setenv("DEMO_PASSWORD", "a different passphrase on the rerun")
    seed_demo()

    assert snapshot() == first
    assert User.objects.get(email="alice@acme.test").check_password(DEFAULT_DEMO_PASSWORD)
