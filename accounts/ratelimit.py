"""Fixed-window counters, shared by every worker and app server.

The state never lives in process memory. ``Limit`` keeps it in the Django
cache (Redis in production; local memory only in the single-process
default): fast, and right for per-IP and per-number budgets that may be lost
on a Redis restart. ``DatabaseLimit`` keeps it in FailureCount rows, beside
the accounts it protects: a Redis restart must not lift a lock-out.

Both count a hit before checking it (``take``), so parallel requests cannot
all pass a check-then-count gap. When the cache cannot be reached, ``Limit``
fails closed (CacheUnavailable, a 503) for everything that checks, and does
its refunds on a best-effort basis.

On Redis a check costs one round trip however many cache limits it takes
(``take_all``): a Lua script counts them all at once, atomically, and takes
every hit back when any limit refuses. Other caches (local memory) count
with add and incr, one limit at a time.
"""
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.models import F, QuerySet

from accounts.models import FailureCount
from ctm_auth import clock
from ctm_auth.faults import CACHE_ERRORS, CacheUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FixedWindowLimit:
    """At most ``max_hits`` per ``window`` seconds for one identifier in ``scope``.

    Subclasses say where the counts are kept (the ``_count``, ``_increment``,
    ``_decrement`` and ``_clear`` hooks); the arithmetic is the same for both.
    """

    scope: str
    max_hits: int
    window: int

    @staticmethod
    def _digest(identifier: str) -> str:
        # Hashed: the identifier may be an email address, and neither cache
        # keys nor table rows should hold personal data.
        return hashlib.sha256(identifier.encode()).hexdigest()

    def _bucket(self) -> tuple[int, float]:
        now = clock.timestamp()
        return int(now // self.window), now

    def _window_end(self, bucket: int) -> int:
        return (bucket + 1) * self.window

    def _count(self, identifier: str, bucket: int) -> int:
        raise NotImplementedError

    def _increment(self, identifier: str, bucket: int) -> int:
        raise NotImplementedError

    def _decrement(self, identifier: str, bucket: int) -> None:
        raise NotImplementedError

    def _clear(self, identifier: str, bucket: int) -> None:
        raise NotImplementedError

    def retry_after(self, identifier: str) -> int:
        """Return seconds until another hit is allowed; 0 when allowed now."""
        bucket, now = self._bucket()
        if self._count(identifier, bucket) < self.max_hits:
            return 0
        return max(1, int(self._window_end(bucket) - now + 0.999))

    def remaining(self, identifier: str) -> int:
        """Return how many hits this window still allows (for a warning; take() is what enforces)."""
        return max(0, self.max_hits - self._count(identifier, self._bucket()[0]))

    def hit(self, identifier: str) -> int:
        """Count one hit atomically and return the count in this window."""
        return self._increment(identifier, self._bucket()[0])

    def take(self, identifier: str) -> tuple[int, int]:
        """Count a hit first; return (seconds to wait or 0, the bucket it was counted in).

        Counting before the work it guards (a password hash, a text) means
        parallel requests cannot all pass a check-then-count gap. A refused
        hit is handed straight back: it did not happen.
        """
        wait, bucket, _count = self._take_counted(identifier)
        return wait, bucket

    def _take_counted(self, identifier: str) -> tuple[int, int, int]:
        """take(), and the window's count with this hit in it (for a warning that needs no second read)."""
        bucket, _ = self._bucket()
        count = self._increment(identifier, bucket)
        if count <= self.max_hits:
            return 0, bucket, count
        self.give_back(identifier, bucket)
        return max(1, self.retry_after(identifier)), bucket, count

    def _wait_until_window_end(self, bucket: int) -> int:
        return max(1, int(self._window_end(bucket) - clock.timestamp() + 0.999))

    def give_back(self, identifier: str, bucket: int) -> None:
        """Hand back a slot taken with take(): what it paid for did not happen."""
        self._decrement(identifier, bucket)

    def consume(self, identifier: str) -> int:
        """Count a hit if allowed; return 0 on success or seconds to wait.

        The increment comes first and is checked after, so two workers racing
        for the last slot cannot both get it.
        """
        if self.hit(identifier) <= self.max_hits:
            return 0
        return self.retry_after(identifier)

    def reset(self, identifier: str) -> None:
        """Forget this window's hits (after a success that proves the caller)."""
        self._clear(identifier, self._bucket()[0])


@dataclass(frozen=True)
class Limit(FixedWindowLimit):
    """A fixed-window limit kept in the Django cache; fails closed when the cache is down."""

    def _key(self, identifier: str, bucket: int) -> str:
        # 32 hex digits: short keys, and no characters memcached rejects.
        return f"rl:{self.scope}:{self._digest(identifier)[:32]}:{bucket}"

    def _count(self, identifier: str, bucket: int) -> int:
        try:
            return cache.get(self._key(identifier, bucket), 0)
        except CACHE_ERRORS:
            raise CacheUnavailable("cache") from None

    def _take_counted(self, identifier: str) -> tuple[int, int, int]:
        client = _redis_client()
        if client is None:
            return super()._take_counted(identifier)
        wait, [(bucket, count)] = _take_in_redis(client, [(self, identifier)])
        return wait, bucket, count

    def _increment(self, identifier: str, bucket: int) -> int:
        client = _redis_client()
        try:
            if client is not None:
                [count] = client.register_script(_COUNT_SCRIPT)(
                    keys=[_redis_key(self, identifier, bucket)], args=[NO_MAXIMUM, self.window + 5])
                return int(count)
            key = self._key(identifier, bucket)
            cache.add(key, 0, timeout=self.window + 5)
            try:
                return cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=self.window + 5)
                return 1
        except CACHE_ERRORS:
            # Fail closed: a limit that cannot count must not let the attempt through.
            raise CacheUnavailable("cache") from None

    def _decrement(self, identifier: str, bucket: int) -> None:
        _give_back_in_cache([(self, identifier, bucket)])

    def _clear(self, identifier: str, bucket: int) -> None:
        try:
            cache.delete(self._key(identifier, bucket))
        except CACHE_ERRORS as error:
            logger.warning("rate limit %s: cache unavailable, count not reset (%s)",
                           self.scope, type(error).__name__)


# -- Redis: every cache limit of one check in one round trip ---------------------------

NO_MAXIMUM = -1  # for _COUNT_SCRIPT: count the hit, refuse nothing (hit(), consume())

# KEYS: the counters. ARGV: per key, its max hits (NO_MAXIMUM: none) then its
# expiry in seconds. Counts one hit on every key, and when any count goes over
# its max takes every one of these hits back: a refusal keeps no slot. Returns
# the counts with the hits in them. A script runs atomically, so parallel
# checks cannot interleave between the counting and the taking back.
_COUNT_SCRIPT = """
local counts, refused = {}, false
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[2 * i])
  end
  local max_hits = tonumber(ARGV[2 * i - 1])
  if max_hits >= 0 and count > max_hits then
    refused = true
  end
  counts[i] = count
end
if refused then
  for _, key in ipairs(KEYS) do
    redis.call('DECR', key)
  end
end
return counts
"""

# KEYS: the counters to hand one hit back to. A key that is gone (reset, or
# its window over) or already at zero has nothing to give back.
_GIVE_BACK_SCRIPT = """
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key))
  if count and count > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""


def _redis_client():
    """Return the redis-py client behind the default cache, or None when it is not Redis.

    Writes go to the first server (as Django's own add and incr do). Local
    memory, the single-process default, keeps the add/incr path.
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(write=True)
    return None


def _redis_key(limit: Limit, identifier: str, bucket: int) -> str:
    # The cache's own key function (prefix and version), so cache.get reads
    # what the scripts count: Django stores integers unpickled, as INCR does.
    return caches[DEFAULT_CACHE_ALIAS].make_and_validate_key(limit._key(identifier, bucket))


def _take_in_redis(client, slots: list[tuple[Limit, str]]) -> tuple[int, list[tuple[int, int]]]:
    """Take a slot from every cache limit in one round trip; all are kept, or none.

    Returns (the longest refusing window's wait, or 0) and each slot's
    (bucket, count with this hit in it).
    """
    buckets = [limit._bucket()[0] for limit, _identifier in slots]
    keys = [_redis_key(limit, identifier, bucket)
            for (limit, identifier), bucket in zip(slots, buckets, strict=True)]
    args = [value for limit, _identifier in slots for value in (limit.max_hits, limit.window + 5)]
    try:
        counts = [int(count) for count in client.register_script(_COUNT_SCRIPT)(keys=keys, args=args)]
    except CACHE_ERRORS:
        # Fail closed: a limit that cannot count must not let the attempt through.
        raise CacheUnavailable("cache") from None
    counted = list(zip(buckets, counts, strict=True))
    waits = [limit._wait_until_window_end(bucket)
             for (limit, _identifier), (bucket, count) in zip(slots, counted, strict=True) if count > limit.max_hits]
    return max(waits, default=0), counted


def _give_back_in_cache(slots: list[tuple[Limit, str, int]]) -> None:
    """Hand cache slots back (one round trip on Redis); a refund, so an outage only logs."""
    if not slots:
        return
    client = _redis_client()
    if client is not None:
        try:
            client.register_script(_GIVE_BACK_SCRIPT)(
                keys=[_redis_key(limit, identifier, bucket) for limit, identifier, bucket in slots])
        except CACHE_ERRORS as error:
            _log_lost_refund([limit for limit, _identifier, _bucket in slots], error)
        return
    for limit, identifier, bucket in slots:
        try:
            cache.decr(limit._key(identifier, bucket))
        except ValueError:  # the window ended meanwhile: nothing left to give back
            pass
        except CACHE_ERRORS as error:
            _log_lost_refund([limit], error)


def _log_lost_refund(limits: list[Limit], error: BaseException) -> None:
    # A refund: losing it costs the caller one slot, never safety.
    logger.warning("rate limit %s: cache unavailable, slot not given back (%s)",
                   ", ".join(limit.scope for limit in limits), type(error).__name__)


def _as_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


@dataclass(frozen=True)
class DatabaseLimit(FixedWindowLimit):
    """A fixed-window limit kept in FailureCount rows, for per-account budgets.

    The database is where the accounts are, so a lock-out outlives a Redis
    restart, and a request that can reach the account can reach its count.
    Each count commits on its own: call it outside any transaction that may
    roll back, or a failed attempt would be forgotten with it.
    """

    def _rows(self, identifier: str) -> QuerySet[FailureCount]:
        return FailureCount.objects.filter(scope=self.scope, key_digest=self._digest(identifier))

    def _count(self, identifier: str, bucket: int) -> int:
        counts = self._rows(identifier).filter(window_start=bucket).values_list("count", flat=True)
        return counts.first() or 0

    def _increment(self, identifier: str, bucket: int) -> int:
        """Add one in the database and return the new count, in one statement.

        INSERT ... ON CONFLICT DO UPDATE (PostgreSQL and SQLite alike) either
        starts this window's row at 1 or adds one to it, and RETURNING reads
        the count that statement wrote: two racing workers get two different
        numbers, and no window needs a look-up first. Rows of ended windows
        are deleted by a success's reset and by delete_expired_failure_counts.
        """
        table = connection.ops.quote_name(FailureCount._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (scope, key_digest, window_start, count, expires_at)"
                f" VALUES (%s, %s, %s, 1, %s)"
                f" ON CONFLICT (scope, key_digest, window_start) DO UPDATE SET count = {table}.count + 1"
                f" RETURNING count",
                [self.scope, self._digest(identifier), bucket, _as_datetime(self._window_end(bucket))],
            )
            return cursor.fetchone()[0]

    def _decrement(self, identifier: str, bucket: int) -> None:
        # count > 0: a window that was reset meanwhile has nothing to give back.
        self._rows(identifier).filter(window_start=bucket, count__gt=0).update(count=F("count") - 1)

    def _clear(self, identifier: str, bucket: int) -> None:
        # Every window's row: the ended ones are of no use either. _raw_delete:
        # one DELETE, not Django's collector reading the rows first.
        rows = self._rows(identifier)
        rows._raw_delete(rows.db)


class Taken(NamedTuple):
    """A slot taken by take_all, which give_back_all hands back."""

    limit: FixedWindowLimit
    identifier: str
    bucket: int
    count: int  # the window's count with this hit in it

    def remaining(self) -> int:
        """How many hits the window allowed after this one (a warning without another read)."""
        return max(0, self.limit.max_hits - self.count)


def take_all(slots: list[tuple[FixedWindowLimit, str]]) -> tuple[int, list[Taken]]:
    """Take a slot from every (limit, identifier); when any refuses, keep none.

    Returns (the longest wait, or 0) and the slots kept, in the order asked,
    which give_back_all hands back once what they paid for did not happen.

    The cache limits are taken first, all at once (one round trip on Redis),
    then the database ones in order. A cache that cannot count
    (CacheUnavailable) therefore stops the check before any database slot is
    spent: a Redis outage locks nobody out.
    """
    in_cache = [index for index, (limit, _identifier) in enumerate(slots) if isinstance(limit, Limit)]
    wait, kept = _take_all_in_cache([slots[index] for index in in_cache])
    taken = {} if wait else dict(zip(in_cache, kept, strict=True))
    try:
        for index, (limit, identifier) in enumerate(slots):
            if isinstance(limit, Limit):
                continue
            slot_wait, bucket, count = limit._take_counted(identifier)
            if slot_wait:
                wait = max(wait, slot_wait)
            else:
                taken[index] = Taken(limit, identifier, bucket, count)
    except BaseException:
        give_back_all(list(taken.values()))  # the database failed after the cache slots were counted
        raise
    if wait:
        give_back_all(list(taken.values()))
        return wait, []
    return 0, [taken[index] for index in sorted(taken)]


def _take_all_in_cache(slots: list[tuple[Limit, str]]) -> tuple[int, list[Taken]]:
    """Take every cache slot, or none; return (the longest wait, or 0) and the slots kept."""
    if not slots:
        return 0, []
    client = _redis_client()
    if client is not None:
        wait, counted = _take_in_redis(client, slots)
        if wait:
            return wait, []  # the script took every hit back
        return 0, [Taken(limit, identifier, bucket, count)
                   for (limit, identifier), (bucket, count) in zip(slots, counted, strict=True)]
    wait, kept = 0, []
    for limit, identifier in slots:
        slot_wait, bucket, count = limit._take_counted(identifier)
        if slot_wait:
            wait = max(wait, slot_wait)
        else:
            kept.append(Taken(limit, identifier, bucket, count))
    if wait:
        give_back_all(kept)
        return wait, []
    return 0, kept


def give_back_all(taken: list[Taken]) -> None:
    """Hand back slots take_all kept; the cache ones at once (one round trip on Redis)."""
    _give_back_in_cache([(limit, identifier, bucket) for limit, identifier, bucket, _count in taken
                         if isinstance(limit, Limit)])
    for limit, identifier, bucket, _count in taken:
        if not isinstance(limit, Limit):
            limit.give_back(identifier, bucket)


def delete_expired_failure_counts() -> int:
    """Delete the FailureCount rows of windows that are over; return how many.

    ``DatabaseLimit`` prunes a key's old rows when that key starts a new
    window; this sweeps keys that never come back (for a periodic job).
    """
    deleted, _per_model = FailureCount.objects.filter(expires_at__lte=clock.now()).delete()
    return deleted
