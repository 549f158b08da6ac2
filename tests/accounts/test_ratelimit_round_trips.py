"""take_all: every cache limit of one check in a single Redis round trip, with the old guarantees.

The Redis tests run a redis-server of their own (the ``redis_server``
fixture) and count what the client sends by wrapping redis-py's
Connection.send_packed_command: one call is one round trip (a pipeline, or
a script, is one call). The first tests run on whatever cache the pass has
(local memory on SQLite, Redis on PostgreSQL): the semantics are the same.
"""
import logging

import pytest
import redis.connection
from django.core.cache import cache, caches
from django.test import RequestFactory

from accounts import signin
from accounts.models import FailureCount
from accounts.ratelimit import DatabaseLimit, Limit, give_back_all, take_all
from ctm_auth.faults import CacheUnavailable
from tests.concurrency import run_concurrently
from tests.conftest import PASSWORD

WINDOW = 600
IP = "203.0.113.7"
ACCOUNT = "user:1"


@pytest.fixture(autouse=True)
def _start_of_a_window(clock):
    # A window's first second, so a test's own seconds never cross an edge.
    clock.advance(WINDOW - clock.timestamp() % WINDOW)


def per_ip(max_hits: int = 3) -> Limit:
    return Limit("test-ip", max_hits, WINDOW)


def per_number(max_hits: int = 5) -> Limit:
    return Limit("test-number", max_hits, WINDOW)


# -- on any cache --------------------------------------------------------------------

def test_take_all_keeps_every_slot_in_the_order_asked_with_what_is_left():
    wait, taken = take_all([(per_ip(), IP), (per_number(), "+15550100")])

    assert wait == 0
    assert [(slot.limit.scope, slot.identifier, slot.count, slot.remaining()) for slot in taken] == [
        ("test-ip", IP, 1, 2), ("test-number", "+15550100", 1, 4)]
    assert per_ip().remaining(IP) == 2 and per_number().remaining("+15550100") == 4


def test_a_refusal_by_one_cache_limit_keeps_no_slot_of_the_others():
    take_all([(per_ip(max_hits=1), IP)])

    wait, taken = take_all([(per_ip(max_hits=1), IP), (per_number(), "+15550100")])

    assert 0 < wait <= WINDOW and taken == []
    assert per_ip(max_hits=1).remaining(IP) == 0  # its one real slot, not the refused hit
    assert per_number().remaining("+15550100") == 5


def test_give_back_all_returns_every_cache_slot():
    _wait, taken = take_all([(per_ip(), IP), (per_number(), "+15550100")])

    give_back_all(taken)

    assert per_ip().remaining(IP) == 3 and per_number().remaining("+15550100") == 5


@pytest.mark.django_db
def test_a_database_limit_listed_before_a_refusing_cache_limit_keeps_no_slot():
    take_all([(per_ip(max_hits=1), IP)])
    account = DatabaseLimit("test-account", 3, WINDOW)

    wait, taken = take_all([(account, ACCOUNT), (per_ip(max_hits=1), IP)])

    assert wait and taken == []
    assert account.remaining(ACCOUNT) == 3


# -- on Redis: one round trip ----------------------------------------------------------

class RoundTrips:
    """Counts what redis-py sends: one send_packed_command call is one round trip."""

    def __init__(self, monkeypatch):
        self.commands: list[bytes] = []
        send = redis.connection.AbstractConnection.send_packed_command

        def counting(connection, command, check_health=True):
            self.commands.append(command if isinstance(command, bytes) else b"".join(command))
            return send(connection, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)

    def __len__(self) -> int:
        return len(self.commands)

    def clear(self) -> None:
        self.commands.clear()


@pytest.fixture
def round_trips(redis_server, monkeypatch) -> RoundTrips:
    """A Redis of the test's own as the cache, its scripts loaded, and the round trips to it counted."""
    warm_up = Limit("test-warm-up", 1, WINDOW)
    _wait, taken = take_all([(warm_up, "x")])  # connects, and loads the scripts (once per server)
    give_back_all(taken)
    counted = RoundTrips(monkeypatch)
    return counted


def redis_client():
    return caches["default"]._cache.get_client(write=True)


@pytest.mark.needs_postgres
def test_take_all_over_two_cache_limits_is_one_round_trip(round_trips):
    wait, taken = take_all([(per_ip(), IP), (per_number(), "+15550100")])

    assert wait == 0 and len(taken) == 2
    assert len(round_trips) == 1
    assert round_trips.commands[0].split(b"\r\n")[2] == b"EVALSHA"


@pytest.mark.needs_postgres
def test_a_refused_take_all_is_one_round_trip_and_keeps_no_slot(round_trips):
    take_all([(per_ip(max_hits=1), IP)])
    round_trips.clear()

    wait, taken = take_all([(per_ip(max_hits=1), IP), (per_number(), "+15550100")])

    assert 0 < wait <= WINDOW and taken == []
    assert len(round_trips) == 1
    assert per_ip(max_hits=1).remaining(IP) == 0 and per_number().remaining("+15550100") == 5


@pytest.mark.needs_postgres
def test_a_single_take_and_its_give_back_are_one_round_trip_each(round_trips):
    limit = per_ip()

    wait, bucket = limit.take(IP)
    assert wait == 0 and len(round_trips) == 1

    limit.give_back(IP, bucket)
    assert len(round_trips) == 2
    assert limit.remaining(IP) == 3


@pytest.mark.needs_postgres
def test_give_back_all_over_two_cache_limits_is_one_round_trip(round_trips):
    _wait, taken = take_all([(per_ip(), IP), (per_number(), "+15550100")])
    round_trips.clear()

    give_back_all(taken)

    assert len(round_trips) == 1
    assert per_ip().remaining(IP) == 3 and per_number().remaining("+15550100") == 5


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_a_wrong_password_costs_one_round_trip_and_a_right_one_two(round_trips, user):
    """The sign-in password step: the per-IP slot in Redis, the account's in the database."""
    request = RequestFactory().post("/account/login/", REMOTE_ADDR=IP)

    wrong = signin.check_password_step(request, email=user.email, password="not the password")
    assert wrong.user is None and wrong.attempts_left == 9
    assert len(round_trips) == 1  # the take; the warning's count came with it

    round_trips.clear()
    right = signin.check_password_step(request, email=user.email, password=PASSWORD)
    assert right.user == user
    assert len(round_trips) == 2  # the take, then its give-back


@pytest.mark.needs_postgres
def test_counters_read_back_through_the_cache_as_integers_with_their_expiry(round_trips):
    limit = per_ip()
    for _ in range(2):
        _wait, [(_limit, _identifier, bucket, _count)] = take_all([(limit, IP)])

    key = limit._key(IP, bucket)
    assert cache.get(key) == 2 and type(cache.get(key)) is int
    assert WINDOW < redis_client().ttl(cache.make_key(key)) <= WINDOW + 5


@pytest.mark.needs_postgres
def test_hit_and_consume_count_in_one_round_trip_and_keep_the_expiry(round_trips):
    limit = per_ip(max_hits=1)

    assert limit.hit(IP) == 1
    assert len(round_trips) == 1
    assert limit.consume(IP) > 0  # consume keeps even a refused hit counted, as before
    assert cache.get(limit._key(IP, limit._bucket()[0])) == 2
    assert WINDOW < redis_client().ttl(cache.make_key(limit._key(IP, limit._bucket()[0]))) <= WINDOW + 5


@pytest.mark.needs_postgres
def test_give_back_never_goes_below_zero_after_a_reset(round_trips):
    limit = per_ip()
    _wait, bucket = limit.take(IP)
    limit.reset(IP)

    limit.give_back(IP, bucket)

    assert take_all([(limit, IP)] * 3)[0] == 0  # the same key thrice: three slots, no more
    assert take_all([(limit, IP)])[0] > 0


# -- on Redis: outages and restarts ----------------------------------------------------

@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_take_all_while_redis_is_down_fails_closed_and_spends_no_database_slot(redis_server):
    account = DatabaseLimit("test-account", 3, WINDOW)
    redis_server.stop()

    with pytest.raises(CacheUnavailable):
        take_all([(account, ACCOUNT), (per_ip(), IP)])

    assert not FailureCount.objects.exists()


@pytest.mark.needs_postgres
def test_give_back_all_while_redis_is_down_only_warns(redis_server, caplog):
    _wait, taken = take_all([(per_ip(), IP), (per_number(), "+15550100")])
    redis_server.stop()

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimit"):
        give_back_all(taken)

    assert "rate limit test-ip, test-number: cache unavailable, slot not given back" in caplog.text


@pytest.mark.needs_postgres
def test_after_a_redis_restart_the_script_is_loaded_again(redis_server):
    take_all([(per_ip(max_hits=1), IP)])
    redis_server.restart()  # the counts and the server's script cache are gone

    assert take_all([(per_ip(max_hits=1), IP)])[0] == 0
    assert take_all([(per_ip(max_hits=1), IP)])[0] > 0


# -- on Redis: parallel checks ---------------------------------------------------------

@pytest.mark.needs_postgres
def test_parallel_take_alls_at_the_last_slots_let_exactly_max_hits_through(redis_server):
    """Eight checks at once against per-IP 3, per-number 5: three pass, and the refused keep nothing."""
    outcomes = run_concurrently(lambda _i: take_all([(per_ip(), IP), (per_number(), "+15550100")])[0] == 0,
                                threads=8)

    assert sorted(outcomes) == [False] * 5 + [True] * 3
    assert per_ip().remaining(IP) == 0
    assert per_number().remaining("+15550100") == 2
