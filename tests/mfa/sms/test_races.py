"""Two app servers at once, on PostgreSQL and Redis: a code works once, limits hold across processes."""
import multiprocessing
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection

from mfa.sms import flows
from mfa.sms.models import OutboxMessage
from tests.concurrency import run_concurrently
from tests.mfa.sms.conftest import NUMBER, last_code
from tests.mfa.sms.limit_worker import send_texts

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def test_same_code_checked_twice_at_once_succeeds_once(sms_user):
    flows.send_code(_request(), user=sms_user, purpose="sign_in", nonce="attempt-1", number=NUMBER,
                    device=flows.active_device(sms_user))
    code = last_code()

    results = run_concurrently(lambda i: flows.check_code(user=sms_user, purpose="sign_in", nonce="attempt-1",
                                                          code=code, device=flows.active_device(sms_user)))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.ok for r in results) == [False, True]
    assert [r.error for r in results if not r.ok] == ["used"]


def test_wrong_codes_at_once_are_all_counted(sms_user, next_codes):
    next_codes("111111")
    flows.send_code(_request(), user=sms_user, purpose="sign_in", nonce="attempt-1", number=NUMBER,
                    device=flows.active_device(sms_user))

    run_concurrently(lambda i: flows.check_code(user=sms_user, purpose="sign_in", nonce="attempt-1",
                                                code="999999", device=flows.active_device(sms_user)), threads=5)

    assert flows.check_code(user=sms_user, purpose="sign_in", nonce="attempt-1", code="111111",
                            device=flows.active_device(sms_user)).error == "dead"


def test_user_limit_holds_across_two_processes(sms_user, day_start):
    assert "RedisCache" in django_settings.CACHES["default"]["BACKEND"], "this test needs the shared Redis cache"
    cache.clear()
    before = OutboxMessage.objects.filter(to=NUMBER).count()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    env = {"DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "ctm_auth.settings.test",
           "REDIS_URL": django_settings.CACHES["default"]["LOCATION"]}
    workers = [
        context.Process(target=send_texts, args=(env, barrier, results),
                        kwargs={"user_id": sms_user.pk, "attempts": 4, "worker": worker})
        for worker in (1, 2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in range(8)]
    for worker in workers:
        worker.join(60)

    assert [w.exitcode for w in workers] == [0, 0]
    sent = [o for o in outcomes if o[1]]
    refused = [o for o in outcomes if not o[1]]
    assert len(sent) == 5, outcomes  # one budget of 5 per user, not 5 per process
    assert {o[2] for o in refused} == {"user_limit"}
    assert OutboxMessage.objects.filter(to=NUMBER).count() == before + 5


def _request():
    from tests.mfa.sms.conftest import flow_request

    return flow_request()


def _database_url() -> str:
    """The URL of the test database this session created (test_<name>), for the other process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
