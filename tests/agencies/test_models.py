"""Constraints of the tenant models that no code path may break."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agencies.flows import add_member, create_agency
from agencies.models import Membership, Role


@pytest.mark.django_db
def test_add_member_second_owner_refused_with_validation_error(acme, make_user):
    before = Membership.objects.count()

    with pytest.raises(ValidationError):
        add_member(agency=acme.agency, user=make_user("usurper@example.test"), role=Role.OWNER)

    assert Membership.objects.count() == before
    assert list(Membership.objects.filter(agency=acme.agency, role=Role.OWNER).values_list("user", flat=True)) == [
        acme.owner.pk
    ]


@pytest.mark.django_db
def test_promote_admin_to_second_owner_refused_by_database(acme):
    """Even a write that skips validation cannot give an agency two Owners."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(agency=acme.agency, user=acme.admin).update(role=Role.OWNER)

    assert Membership.objects.get(agency=acme.agency, user=acme.admin).role == Role.ADMIN


@pytest.mark.django_db
def test_add_member_twice_to_same_agency_refused(acme):
    with pytest.raises(ValidationError):
        add_member(agency=acme.agency, user=acme.alice, role=Role.ADMIN)

    assert Membership.objects.get(agency=acme.agency, user=acme.alice).role == Role.USER


@pytest.mark.django_db
def test_create_agency_each_agency_has_its_own_owner(acme, solo):
    """One Owner per agency, but a person may own several agencies."""
    third = create_agency(name="Third Agency", plan_code="connect", owner=acme.owner)

    owners = dict(Membership.objects.filter(role=Role.OWNER).values_list("agency__name", "user__email"))
    assert owners == {
        "Acme Agency": "owner@acme.test",
        "Solo Shop": "owner@solo.test",
        "Third Agency": "owner@acme.test",
    }
    assert third.memberships.get().role == Role.OWNER
