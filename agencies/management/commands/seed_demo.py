"""Create the demo agencies and users. Safe to run again: it changes nothing twice."""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from agencies.flows import add_member, add_subaccount, create_agency
from agencies.models import Agency, Membership, Role, SubAccount

DEFAULT_DEMO_PASSWORD = "ctm-demo-2fa!"

# (email, name, agency, role, subaccounts)
DEMO_USERS = [
    ("owner@acme.test", "Olivia Owner", "Acme Agency", Role.OWNER, []),
    ("admin@acme.test", "Adam Admin", "Acme Agency", Role.ADMIN, ["Acme Dental", "Acme Plumbing"]),
    ("alice@acme.test", "Alice Example", "Acme Agency", Role.USER, ["Acme Dental"]),
    ("bob@acme.test", "Bob Example", "Acme Agency", Role.USER, ["Acme Plumbing"]),
    ("owner@solo.test", "Sam Solo", "Solo Shop", Role.OWNER, []),
]
# name: (plan, subaccounts, country, time zone). Members who choose no time
# zone on their Profile see dates in their agency's.
DEMO_AGENCIES = {
    "Acme Agency": ("growth", ["Acme Dental", "Acme Plumbing"], "US", "America/New_York"),
    "Solo Shop": ("starter", [], "ES", "Europe/Madrid"),
}


class Command(BaseCommand):
    help = "Create the demo agencies and sign-ins (idempotent)."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
        with transaction.atomic():
            users = {email: self._user(email, name, password) for email, name, *_ in DEMO_USERS}
            for email, _name, agency_name, role, subaccount_names in DEMO_USERS:
                agency = self._agency(agency_name, users, role, email)
                if not Membership.objects.filter(agency=agency, user=users[email]).exists():
                    subaccounts = list(SubAccount.objects.filter(agency=agency, name__in=subaccount_names))
                    add_member(agency=agency, user=users[email], role=role, subaccounts=subaccounts)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/ as:"))
        for email, _name, agency_name, role, _subs in DEMO_USERS:
            self.stdout.write(f"  {email:<18} {Role(role).label:<22} {agency_name}")
        self.stdout.write(f"  password: {password}")

    @staticmethod
    def _user(email: str, name: str, password: str):
        User = get_user_model()
        user = User.objects.filter(email=email).first()
        return user or User.objects.create_user(email, password, name=name)

    @staticmethod
    def _agency(name: str, users: dict, role: str, email: str) -> Agency:
        agency = Agency.objects.filter(name=name).first()
        if agency is None:
            plan_code, subaccount_names, country, time_zone = DEMO_AGENCIES[name]
            owner_email = next(e for e, _n, a, r, _s in DEMO_USERS if a == name and r == Role.OWNER)
            agency = create_agency(name=name, plan_code=plan_code, owner=users[owner_email], country=country,
                                   time_zone=time_zone)
            for subaccount_name in subaccount_names:
                add_subaccount(agency=agency, name=subaccount_name)
        return agency
