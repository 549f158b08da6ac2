"""Seed the load test's accounts: agency administrators with Google Authenticator set up.

Run by the orchestrator with the app servers' production environment:
``python -m benchmarks.load.seed ACCOUNTS.json PEOPLE_ACCOUNTS``. Writes each
account's email, TOTP secret and agency to ACCOUNTS.json for the Locust
users; one more account, the last, is the wrong-code hammer's.

Agencies, memberships and the authenticators go through the product's flows.
The users share one password hash, made once: hashing hundreds of Argon2id
passwords one by one would take longer than a load run. Each authenticator is
confirmed with the previous time-step's code, so the current one is still
free for the first sign-in.
"""
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctm_auth.settings.production")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from accounts.models import User  # noqa: E402
from agencies.flows import add_member, create_agency  # noqa: E402
from agencies.models import Role  # noqa: E402
from mfa.totp import flows, otp  # noqa: E402

PASSWORD = "load-test password 2fa!"
#: Members per agency: its Owner and administrators (Manage Users lists them all).
AGENCY_SIZE = 10


def flow_request(user):
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT="benchmarks.load seed")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    return request


def enrol_totp(user) -> str:
    pending = flows.start_enrolment(flow_request(user), user=user)
    code = otp.generate(pending.secret, at=time.time() - pending.step, digits=pending.digits, step=pending.step)
    outcome = flows.confirm_enrolment(flow_request(user), user=user, setup_id=pending.setup_id, code=code)
    if not outcome.ok:
        raise RuntimeError(f"could not set up TOTP for {user.email}: {outcome.error}")
    return pending.secret


def seed(count: int) -> list[dict]:
    shared_hash = make_password(PASSWORD)
    users = User.objects.bulk_create([
        User(email=f"load{i:04d}@load.test", name=f"Load User {i:04d}", password=shared_hash)
        for i in range(count)
    ])
    accounts = []
    for start in range(0, count, AGENCY_SIZE):
        owner, *admins = users[start:start + AGENCY_SIZE]
        agency = create_agency(name=f"Load Agency {start // AGENCY_SIZE:03d}", plan_code="growth", owner=owner)
        for admin in admins:
            add_member(agency=agency, user=admin, role=Role.ADMIN)
        for user in (owner, *admins):
            accounts.append({"email": user.email, "name": user.name, "secret": enrol_totp(user),
                             "agency_id": agency.pk})
    return accounts


def main() -> int:
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    accounts = seed(count + 1)
    for account in accounts:
        account["role"] = "person"
    accounts[-1]["role"] = "hammer"
    out.write_text(json.dumps({"password": PASSWORD, "accounts": accounts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
