"""Races on PostgreSQL: two sign-ins with one pass, two administrators issuing at once."""
import pytest
from django.test import Client

from accounts import audit
from accounts.models import AuditEvent
from agencies import permissions
from mfa.access_pass import flows
from mfa.access_pass.models import AccessPass, Status
from tests.concurrency import run_concurrently
from tests.conftest import add_fake_device, ensure_plans
from tests.mfa.access_pass.conftest import flow_request, issue, start_sign_in, submit_pass

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_sign_ins_with_one_pass_at_once_exactly_one_wins(acme, clock):
    add_fake_device(acme.alice)
    for _round in range(3):  # several rounds, a fresh pass each, to give the race a chance
        code = issue(acme.admin, acme.alice, acme.agency)
        browsers = [Client(), Client()]
        for browser in browsers:
            start_sign_in(browser, acme.alice)
        responses = run_concurrently(lambda i, browsers=browsers, code=code: submit_pass(browsers[i], code))
        assert not any(isinstance(r, Exception) for r in responses), responses
        assert sorted(r.status_code for r in responses) == [200, 302], responses
        signed_in = ["_auth_user_id" in browser.session for browser in browsers]
        assert sorted(signed_in) == [False, True]
        clock.advance(2)  # the loser's throttle wait
    assert AccessPass.objects.filter(user=acme.alice, status=Status.USED).count() == 3
    assert AuditEvent.objects.filter(event_type="access_pass.used").count() == 3
    assert AuditEvent.objects.filter(event_type=audit.SIGN_IN_SUCCEEDED, method="access_pass").count() == 3


def test_the_flow_alone_lets_one_of_two_racing_uses_through(acme):
    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency)
    results = run_concurrently(lambda i: flows.verify_pass(flow_request(), user=acme.alice, code=code,
                                                           purpose="sign_in"))
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.ok for r in results) == [False, True]
    assert [r.error for r in results if not r.ok] == ["not_valid"]


def test_two_administrators_issuing_at_once_leave_one_live_pass(acme):
    ensure_plans()
    add_fake_device(acme.alice)
    actors = [acme.owner, acme.admin]
    results = run_concurrently(lambda i: flows.issue_pass(
        flow_request(actors[i]), actor=actors[i], target=acme.alice, agency=acme.agency, lifetime_hours=24,
        may_manage=permissions.can_manage_user))
    assert not any(isinstance(r, Exception) for r in results), results
    assert AccessPass.objects.filter(user=acme.alice, status=Status.ACTIVE).count() == 1
    assert AccessPass.objects.filter(user=acme.alice, status=Status.REVOKED).count() == 1


def test_revoke_racing_a_sign_in_leaves_the_pass_used_or_revoked_never_both(acme):
    add_fake_device(acme.alice)
    for _round in range(3):
        code = issue(acme.admin, acme.alice, acme.agency)

        def act(index: int, code=code):
            if index == 0:
                return flows.revoke_pass(flow_request(acme.admin), actor=acme.admin, target=acme.alice,
                                         agency=acme.agency, may_manage=permissions.can_manage_user)
            return flows.verify_pass(flow_request(), user=acme.alice, code=code, purpose="sign_in")

        revoked, used = run_concurrently(act)
        assert not isinstance(revoked, Exception) and not isinstance(used, Exception), (revoked, used)
        assert revoked != used.ok  # exactly one of them took the pass
        latest = AccessPass.objects.filter(user=acme.alice).latest("pk")
        assert latest.status == (Status.REVOKED if revoked else Status.USED)
