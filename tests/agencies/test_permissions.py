"""agencies.permissions as a matrix: actor's role × target's role × same or other agency × action.

The agency under test is always the target's agency (the one in the URL of a
Settings page). "same" puts the actor in that agency with the given role;
"other" gives the actor that role in a different agency. "none" is a user
who belongs to no agency at all.
"""
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import User
from agencies.flows import add_member, create_agency
from agencies.models import Role
from agencies.permissions import (
    can_change_security_policy,
    can_manage_user,
    can_manage_users,
    get_agency_for_manager_or_404,
    get_managed_member_or_404,
    role_can_manage,
)

ACTOR_ROLES = ["owner", "admin", "user", "none"]
TARGET_ROLES = ["owner", "admin", "user"]


def _build_agency(make_member, prefix: str, plan_code: str) -> SimpleNamespace:
    """An agency with one Owner, two Administrators and two Users, made through the flows."""
    owner = make_member(f"owner@{prefix}.test")
    agency = create_agency(name=f"{prefix.title()} Agency", plan_code=plan_code, owner=owner)
    members = {"owner": owner}
    for name, role in [("admin", Role.ADMIN), ("admin2", Role.ADMIN), ("user", Role.USER), ("user2", Role.USER)]:
        members[name] = make_member(f"{name}@{prefix}.test")
        add_member(agency=agency, user=members[name], role=role)
    return SimpleNamespace(agency=agency, **members)


@pytest.fixture
def make_member(db):
    """Users without a password: these tests never sign in, and skipping Argon2 keeps them fast."""
    return lambda email: User.objects.create_user(email, None, name=email.split("@")[0].title())


@pytest.fixture
def world(make_member) -> SimpleNamespace:
    """Two agencies with the same shape, and one user who belongs to neither."""
    return SimpleNamespace(
        home=_build_agency(make_member, "home", "growth"),
        away=_build_agency(make_member, "away", "starter"),
        outsider=make_member("outsider@example.test"),
    )


def actor_for(world, role: str, where: str):
    """The actor: ``role`` in the target's agency ("same") or in another one ("other")."""
    if role == "none":
        return world.outsider
    agency = world.home if where == "same" else world.away
    return getattr(agency, role)


def target_for(world, role: str):
    """A member of the home agency with ``role``; for admin and user, never the actor.

    The actor Administrator is ``home.admin`` and the actor User ``home.user``,
    so the targets are their colleagues. There is only one Owner per agency:
    when the Owner targets "owner" they target themselves.
    """
    return {"owner": world.home.owner, "admin": world.home.admin2, "user": world.home.user2}[role]


# Who may manage whom inside one agency (reset methods, view backup codes).
SAME_AGENCY_MATRIX = [
    pytest.param("owner", "owner", False, id="owner-cannot-manage-self-the-only-owner"),
    pytest.param("owner", "admin", True, id="owner-manages-admin"),
    pytest.param("owner", "user", True, id="owner-manages-user"),
    pytest.param("admin", "owner", False, id="admin-cannot-manage-owner"),
    pytest.param("admin", "admin", False, id="admin-cannot-manage-other-admin"),
    pytest.param("admin", "user", True, id="admin-manages-user"),
    pytest.param("user", "owner", False, id="user-cannot-manage-owner"),
    pytest.param("user", "admin", False, id="user-cannot-manage-admin"),
    pytest.param("user", "user", False, id="user-cannot-manage-other-user"),
    pytest.param("none", "owner", False, id="non-member-cannot-manage-owner"),
    pytest.param("none", "admin", False, id="non-member-cannot-manage-admin"),
    pytest.param("none", "user", False, id="non-member-cannot-manage-user"),
]

# From another agency, every role manages nobody here.
OTHER_AGENCY_MATRIX = [
    pytest.param(actor, target, False, id=f"{actor}-of-other-agency-cannot-manage-{target}")
    for actor in ACTOR_ROLES
    for target in TARGET_ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, target_role, allowed", SAME_AGENCY_MATRIX)
def test_can_manage_user_same_agency(world, actor_role, target_role, allowed):
    actor, target = actor_for(world, actor_role, "same"), target_for(world, target_role)

    assert can_manage_user(actor, target, world.home.agency) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, target_role, allowed", SAME_AGENCY_MATRIX)
def test_get_managed_member_or_404_same_agency(world, actor_role, target_role, allowed):
    actor, target = actor_for(world, actor_role, "same"), target_for(world, target_role)

    if allowed:
        membership = get_managed_member_or_404(actor, world.home.agency, target.pk)
        assert (membership.user, membership.agency) == (target, world.home.agency)
    else:
        with pytest.raises(Http404):
            get_managed_member_or_404(actor, world.home.agency, target.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, target_role, allowed", OTHER_AGENCY_MATRIX)
def test_can_manage_user_other_agency(world, actor_role, target_role, allowed):
    actor, target = actor_for(world, actor_role, "other"), target_for(world, target_role)

    # Asked about the target's agency (where the actor has no role) ...
    assert can_manage_user(actor, target, world.home.agency) is allowed
    # ... or about the actor's own agency (where the target is no member).
    assert can_manage_user(actor, target, world.away.agency) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, target_role, allowed", OTHER_AGENCY_MATRIX)
def test_get_managed_member_or_404_other_agency(world, actor_role, target_role, allowed):
    actor, target = actor_for(world, actor_role, "other"), target_for(world, target_role)

    with pytest.raises(Http404):
        get_managed_member_or_404(actor, world.home.agency, target.pk)
    with pytest.raises(Http404):
        get_managed_member_or_404(actor, world.away.agency, target.pk)


# Agency-level actions depend on the actor's role alone.
AGENCY_ACTION_MATRIX = [
    # actor,  where,   manage users, change security policy
    pytest.param("owner", "same", True, True, id="owner"),
    pytest.param("admin", "same", True, False, id="admin"),
    pytest.param("user", "same", False, False, id="user"),
    pytest.param("none", "same", False, False, id="non-member"),
    pytest.param("owner", "other", False, False, id="owner-of-other-agency"),
    pytest.param("admin", "other", False, False, id="admin-of-other-agency"),
    pytest.param("user", "other", False, False, id="user-of-other-agency"),
    pytest.param("none", "other", False, False, id="non-member-elsewhere"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, where, manages_users, changes_policy", AGENCY_ACTION_MATRIX)
def test_can_manage_users_by_role(world, actor_role, where, manages_users, changes_policy):
    assert can_manage_users(actor_for(world, actor_role, where), world.home.agency) is manages_users


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, where, manages_users, changes_policy", AGENCY_ACTION_MATRIX)
def test_can_change_security_policy_by_role(world, actor_role, where, manages_users, changes_policy):
    actor = actor_for(world, actor_role, where)

    assert can_change_security_policy(actor, world.home.agency) is changes_policy


@pytest.mark.django_db
@pytest.mark.parametrize("actor_role, where, manages_users, changes_policy", AGENCY_ACTION_MATRIX)
def test_get_agency_for_manager_or_404_by_role(world, actor_role, where, manages_users, changes_policy):
    actor = actor_for(world, actor_role, where)

    if manages_users:
        assert get_agency_for_manager_or_404(actor, world.home.agency.pk) == world.home.agency
    else:
        with pytest.raises(Http404):
            get_agency_for_manager_or_404(actor, world.home.agency.pk)


# The role rule alone (lists that already know both roles use it). Self is
# excluded by the caller, so an Owner "managing an owner" is allowed here.
ROLE_RULE_MATRIX = [
    pytest.param("owner", "owner", True, id="owner-owner"),
    pytest.param("owner", "admin", True, id="owner-admin"),
    pytest.param("owner", "user", True, id="owner-user"),
    pytest.param("admin", "owner", False, id="admin-owner"),
    pytest.param("admin", "admin", False, id="admin-admin"),
    pytest.param("admin", "user", True, id="admin-user"),
    pytest.param("user", "owner", False, id="user-owner"),
    pytest.param("user", "admin", False, id="user-admin"),
    pytest.param("user", "user", False, id="user-user"),
    pytest.param(None, "user", False, id="non-member-user"),
    pytest.param("owner", None, False, id="owner-non-member"),
]


@pytest.mark.parametrize("actor_role, target_role, allowed", ROLE_RULE_MATRIX)
def test_role_can_manage_by_roles(actor_role, target_role, allowed):
    assert role_can_manage(actor_role, target_role) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin", "user"])
def test_manage_self_refused_for_every_role(world, role):
    """One's own methods are managed from the Profile, never through the admin functions."""
    actor = getattr(world.home, role)

    assert can_manage_user(actor, actor, world.home.agency) is False
    with pytest.raises(Http404):
        get_managed_member_or_404(actor, world.home.agency, actor.pk)


@pytest.mark.django_db
def test_refusals_are_identical_404s_whether_or_not_the_target_exists(world):
    """An attacker probing user ids learns nothing: forbidden, foreign and unknown look the same."""
    admin, agency = world.home.admin, world.home.agency
    probes = {
        "forbidden member (the Owner)": world.home.owner.pk,
        "member of another agency": world.away.user.pk,
        "user in no agency": world.outsider.pk,
        "no such user": 10**9,
    }
    refusals = {}
    for label, user_id in probes.items():
        with pytest.raises(Http404) as excinfo:
            get_managed_member_or_404(admin, agency, user_id)
        assert not isinstance(excinfo.value, PermissionDenied)
        refusals[label] = (type(excinfo.value), excinfo.value.args)

    assert len(set(refusals.values())) == 1, refusals


@pytest.mark.django_db
def test_get_agency_for_manager_or_404_unknown_agency_looks_like_foreign_one(world):
    with pytest.raises(Http404) as unknown:
        get_agency_for_manager_or_404(world.home.owner, 10**9)
    with pytest.raises(Http404) as foreign:
        get_agency_for_manager_or_404(world.home.owner, world.away.agency.pk)

    assert unknown.value.args == foreign.value.args


@pytest.mark.django_db
def test_anonymous_actor_is_refused_everything(world):
    anonymous, agency = AnonymousUser(), world.home.agency

    assert can_manage_users(anonymous, agency) is False
    assert can_change_security_policy(anonymous, agency) is False
    assert can_manage_user(anonymous, world.home.user, agency) is False
    with pytest.raises(Http404):
        get_agency_for_manager_or_404(anonymous, agency.pk)
    with pytest.raises(Http404):
        get_managed_member_or_404(anonymous, agency, world.home.user.pk)


@pytest.mark.django_db
def test_roles_in_two_agencies_are_independent(world, make_member):
    """Administrator in one agency, plain User in another: each agency sees its own role."""
    both = make_member("both@example.test")
    add_member(agency=world.home.agency, user=both, role=Role.ADMIN)
    add_member(agency=world.away.agency, user=both, role=Role.USER)

    assert can_manage_users(both, world.home.agency) is True
    assert can_manage_users(both, world.away.agency) is False
    assert can_manage_user(both, world.home.user, world.home.agency) is True
    assert can_manage_user(both, world.away.user, world.away.agency) is False
    assert get_managed_member_or_404(both, world.home.agency, world.home.user.pk).user == world.home.user
    with pytest.raises(Http404):
        get_managed_member_or_404(both, world.away.agency, world.away.user.pk)
    with pytest.raises(Http404):
        get_agency_for_manager_or_404(both, world.away.agency.pk)


@pytest.mark.django_db
def test_owner_of_two_agencies_manages_each_only_through_its_own_agency(world):
    """The home Owner also owns a second agency; the away agency stays out of reach."""
    second = create_agency(name="Second Agency", plan_code="connect", owner=world.home.owner)
    add_member(agency=second, user=world.away.user, role=Role.USER)

    assert can_manage_user(world.home.owner, world.away.user, second) is True
    assert can_manage_user(world.home.owner, world.away.user, world.away.agency) is False
    assert can_manage_user(world.home.owner, world.home.user, second) is False
