"""Writes to agencies, subaccounts and memberships."""
from django.db import transaction

from agencies.models import Agency, Membership, Plan, Role, SubAccount


def create_agency(*, name: str, plan_code: str, owner) -> Agency:
    """Create an agency with its Owner's membership, in one transaction."""
    with transaction.atomic():
        agency = Agency(name=name, plan=Plan.objects.get(code=plan_code))
        agency.full_clean()
        agency.save()
        add_member(agency=agency, user=owner, role=Role.OWNER)
    return agency


def add_subaccount(*, agency: Agency, name: str) -> SubAccount:
    subaccount = SubAccount(agency=agency, name=name)
    subaccount.full_clean()
    subaccount.save()
    return subaccount


def add_member(*, agency: Agency, user, role: str, subaccounts: list[SubAccount] | None = None) -> Membership:
    with transaction.atomic():
        membership = Membership(agency=agency, user=user, role=role)
        membership.full_clean()
        membership.save()
        if subaccounts:
            membership.subaccounts.set(subaccounts)
    return membership
