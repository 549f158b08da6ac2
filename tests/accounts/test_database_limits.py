"""DatabaseLimit: fixed-window counters in FailureCount rows (per-account budgets)."""
import pytest
from django.core.cache import cache

from accounts.models import FailureCount
from accounts.ratelimit import DatabaseLimit, delete_expired_failure_counts
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

WINDOW = 600
ACCOUNT = "user:1"


@pytest.fixture
def limit(clock) -> DatabaseLimit:
    # Start at a window's first second, so a test's own seconds never cross an edge.
    clock.advance(WINDOW - clock.timestamp() % WINDOW)
    return DatabaseLimit("test-account", 3, WINDOW)


def take_all(limit: DatabaseLimit, times: int, identifier: str = ACCOUNT) -> list[bool]:
    """Take ``times`` slots; return whether each was allowed."""
    return [limit.take(identifier)[0] == 0 for _ in range(times)]


def test_take_within_limit_is_allowed_then_refused_with_a_wait(limit):
    assert take_all(limit, 3) == [True, True, True]

    wait, _bucket = limit.take(ACCOUNT)

    assert WINDOW - 10 < wait <= WINDOW
    assert 0 < limit.retry_after(ACCOUNT) <= wait


def test_retry_after_below_limit_is_zero(limit):
    take_all(limit, 2)

    assert limit.retry_after(ACCOUNT) == 0


def test_retry_after_counts_down_to_the_window_end(limit, clock):
    take_all(limit, 3)
    clock.advance(100)

    assert WINDOW - 110 < limit.retry_after(ACCOUNT) <= WINDOW - 100


def test_take_refused_is_not_counted(limit):
    take_all(limit, 3)
    take_all(limit, 5)  # all refused: each is handed straight back

    limit.give_back(ACCOUNT, limit.take(ACCOUNT)[1])  # a refund of one real slot

    assert take_all(limit, 2) == [True, False]


def test_give_back_returns_the_slot(limit):
    take_all(limit, 2)
    _wait, bucket = limit.take(ACCOUNT)

    limit.give_back(ACCOUNT, bucket)

    assert take_all(limit, 2) == [True, False]


def test_give_back_of_an_ended_window_frees_nothing_in_the_new_one(limit, clock):
    _wait, old_bucket = limit.take(ACCOUNT)
    clock.advance(WINDOW)
    take_all(limit, 3)

    limit.give_back(ACCOUNT, old_bucket)

    assert take_all(limit, 1) == [False]


def test_give_back_after_reset_never_goes_below_zero(limit):
    _wait, bucket = limit.take(ACCOUNT)
    limit.reset(ACCOUNT)

    limit.give_back(ACCOUNT, bucket)
    limit.give_back(ACCOUNT, bucket)

    assert take_all(limit, 4) == [True, True, True, False]


def test_reset_clears_the_count(limit):
    take_all(limit, 3)

    limit.reset(ACCOUNT)

    assert limit.retry_after(ACCOUNT) == 0
    assert take_all(limit, 3) == [True, True, True]


def test_window_rolls_over_when_clock_moves(limit, clock):
    take_all(limit, 3)
    clock.advance(WINDOW - 10)
    assert 0 < limit.take(ACCOUNT)[0] <= 10

    clock.advance(10)

    assert take_all(limit, 4) == [True, True, True, False]


def test_a_success_reset_deletes_this_keys_ended_rows_too(limit, clock):
    """Counting is one upsert, with no pruning on the way; a success's reset and the daily sweep prune."""
    take_all(limit, 2)
    take_all(limit, 1, "user:2")
    clock.advance(WINDOW)
    limit.take(ACCOUNT)

    limit.reset(ACCOUNT)

    assert [row.count for row in FailureCount.objects.filter(scope="test-account").order_by("window_start")] == [1]


def test_delete_expired_failure_counts_removes_only_ended_windows(limit, clock):
    take_all(limit, 1, "user:2")
    clock.advance(WINDOW)
    take_all(limit, 2)

    assert delete_expired_failure_counts() == 1

    assert list(FailureCount.objects.values_list("count", flat=True)) == [2]
    assert take_all(limit, 2) == [True, False]


def test_identifiers_and_scopes_count_separately(limit):
    take_all(limit, 3)

    assert take_all(limit, 1, "user:2") == [True]
    assert take_all(DatabaseLimit("other-scope", 3, WINDOW), 1) == [True]
    assert take_all(limit, 1) == [False]


def test_rows_hold_a_hash_not_the_identifier(limit):
    limit.take("Alice@Example.test")

    row = FailureCount.objects.get()
    assert "alice" not in row.key_digest.lower()
    assert len(row.key_digest) == 64


def test_hit_and_consume_count_like_take(limit):
    assert limit.hit(ACCOUNT) == 1
    assert [limit.consume(ACCOUNT) == 0 for _ in range(3)] == [True, True, False]
    assert limit.hit(ACCOUNT) == 5  # as with Limit, consume keeps a refused hit counted


def test_count_survives_a_cache_clear(limit):
    take_all(limit, 3)

    cache.clear()  # what a Redis restart does to the cache-backed limits

    assert take_all(limit, 1) == [False]


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("max_hits", [1, 3])
def test_concurrent_takes_cannot_exceed_the_limit(clock, max_hits):
    clock.advance(WINDOW - clock.timestamp() % WINDOW)
    limit = DatabaseLimit("test-account", max_hits, WINDOW)

    # Eight workers race for the first hit too: the row does not exist yet.
    outcomes = run_concurrently(lambda i: limit.take(ACCOUNT)[0] == 0, threads=8)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert outcomes.count(True) == max_hits
    assert FailureCount.objects.get().count == max_hits
