"""Races on PostgreSQL: two requests with one code, two set-ups at once, use against regenerate."""
import pytest
from django.db import connections

from accounts.models import AuditEvent
from mfa.backup_codes import flows, selectors
from mfa.backup_codes.models import BackupCode, BackupCodeSet
from tests.concurrency import run_concurrently
from tests.conftest import add_fake_device
from tests.mfa.backup_codes.conftest import flow_request, set_up_codes

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_one_code_used_by_two_requests_at_once_works_exactly_once(user, clock):
    add_fake_device(user)
    codes = set_up_codes(user)

    def use(_index: int):
        return flows.verify_code(flow_request(), user=user, code=codes[0], purpose="sign_in")

    for attempt in range(3):  # several rounds, each with a fresh code, to give the race a chance
        code = codes[attempt]
        results = run_concurrently(lambda i, code=code: flows.verify_code(
            flow_request(), user=user, code=code, purpose="sign_in"))
        assert not any(isinstance(r, Exception) for r in results), results
        assert sorted(r.ok for r in results) == [False, True], results
        assert [r.error for r in results if not r.ok] == ["used"]
        clock.advance(60)  # let the loser's throttle wait pass before the next round
    assert selectors.remaining_count(BackupCodeSet.objects.get(user=user)) == 7
    assert AuditEvent.objects.filter(event_type=flows.USED).count() == 3
    assert use(0).error == "used"


def test_two_generate_requests_at_once_leave_one_set_of_ten(user):
    add_fake_device(user)
    results = run_concurrently(lambda i: flows.generate_codes(flow_request(user), user=user))
    assert not any(isinstance(r, Exception) for r in results), results
    assert BackupCodeSet.objects.filter(user=user).count() == 1
    assert BackupCode.objects.current().filter(code_set__user=user).count() == 10


def test_use_racing_regenerate_never_leaves_an_old_code_working(user):
    add_fake_device(user)
    codes = set_up_codes(user)

    def act(index: int):
        if index == 0:
            return flows.regenerate_codes(flow_request(user), user=user)
        return flows.verify_code(flow_request(), user=user, code=codes[0], purpose="sign_in")

    regenerated, used = run_concurrently(act)
    assert isinstance(regenerated, BackupCodeSet), regenerated
    # Either the code went through before the regeneration, or it was refused as replaced.
    assert used.ok or used.error == "replaced", used
    assert connections["default"].vendor == "postgresql"
    code_set = BackupCodeSet.objects.get(user=user)
    assert [code_set.consume(code.replace("-", "")) for code in codes] == ["replaced"] * 10
    assert BackupCode.objects.current().filter(code_set=code_set, used_at__isnull=True).count() == 10


def test_admin_reset_racing_a_backup_code_sign_in_neither_deadlocks_nor_leaves_codes(acme):
    from agencies.flows import reset_member_method
    from mfa.registry import get_method

    add_fake_device(acme.alice)
    codes = set_up_codes(acme.alice)

    def act(index: int):
        if index == 0:
            return reset_member_method(flow_request(acme.admin), actor=acme.admin, agency=acme.agency,
                                       target=acme.alice, method=get_method("fake"))
        return flows.verify_code(flow_request(), user=acme.alice, code=codes[0], purpose="sign_in")

    for _round in range(3):
        reset, used = run_concurrently(act)
        assert reset is True or reset is False, reset  # never an exception (a deadlock is one)
        assert not isinstance(used, Exception), used
        # Whatever the order, the codes went with the last primary method.
        assert not BackupCodeSet.objects.filter(user=acme.alice).exists()
        add_fake_device(acme.alice)
        codes = set_up_codes(acme.alice)
