"""Two beat runs (or two workers) at the same instant on PostgreSQL send each reminder once."""
import pytest

from accounts.models import Delivery
from agencies import flows
from agencies.flows import add_member
from agencies.models import PolicyReminder, Role
from tests.concurrency import run_concurrently
from tests.conftest import add_fake_device, ensure_plans

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_simultaneous_runs_send_each_reminder_once(make_user, clock):
    ensure_plans()
    owner = make_user("owner@race.test")
    add_fake_device(owner)
    agency = flows.create_agency(name="Race Agency", plan_code="growth", owner=owner)
    for i in range(40):
        add_member(agency=agency, user=make_user(f"m{i:02}@race.test"), role=Role.USER)
    flows.set_security_policy(None, actor=owner, agency=agency, confirmed=True,
                              policy=flows.SecurityPolicy(required=True, grace_days=7))
    clock.advance(60)
    results = run_concurrently(lambda _: flows.send_policy_reminders(), threads=4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 40
    assert PolicyReminder.objects.count() == 40
    rows = Delivery.objects.filter(kind="agencies/email/policy_reminder")
    assert rows.count() == 40 and rows.values("to").distinct().count() == 40
