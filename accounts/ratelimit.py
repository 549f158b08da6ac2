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
"""
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from django.core.cache import cache
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
        bucket, _ = self._bucket()
        if self._increment(identifier, bucket) <= self.max_hits:
            return 0, bucket
        self.give_back(identifier, bucket)
        return max(1, self.retry_after(identifier)), bucket

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

    def _increment(self, identifier: str, bucket: int) -> int:
        key = self._key(identifier, bucket)
        try:
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
        try:
            cache.decr(self._key(identifier, bucket))
        except ValueError:  # the window ended meanwhile: nothing left to give back
            pass
        except CACHE_ERRORS as error:
            # A refund: losing it costs the caller one slot, never safety.
            logger.warning("rate limit %s: cache unavailable, slot not given back (%s)",
                           self.scope, type(error).__name__)

    def _clear(self, identifier: str, bucket: int) -> None:
        try:
            cache.delete(self._key(identifier, bucket))
        except CACHE_ERRORS as error:
            logger.warning("rate limit %s: cache unavailable, count not reset (%s)",
                           self.scope, type(error).__name__)


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


Taken = tuple[FixedWindowLimit, str, int]  # a slot taken: (limit, identifier, bucket)


def take_all(slots: list[tuple[FixedWindowLimit, str]]) -> tuple[int, list[Taken]]:
    """Take a slot from every (limit, identifier), in order; when any refuses, keep none.

    Returns (the longest wait, or 0) and the slots kept, which give_back_all
    hands back once what they paid for did not happen. A limit that cannot
    count (CacheUnavailable) stops the loop, so put cache limits first: a
    Redis outage then spends no database slot.
    """
    taken = [(limit, identifier, *limit.take(identifier)) for limit, identifier in slots]
    kept = [(limit, identifier, bucket) for limit, identifier, wait, bucket in taken if not wait]
    wait = max((wait for _limit, _identifier, wait, _bucket in taken), default=0)
    if wait:
        give_back_all(kept)
        return wait, []
    return 0, kept


def give_back_all(taken: list[Taken]) -> None:
    for limit, identifier, bucket in taken:
        limit.give_back(identifier, bucket)


def delete_expired_failure_counts() -> int:
    """Delete the FailureCount rows of windows that are over; return how many.

    ``DatabaseLimit`` prunes a key's old rows when that key starts a new
    window; this sweeps keys that never come back (for a periodic job).
    """
    deleted, _per_model = FailureCount.objects.filter(expires_at__lte=clock.now()).delete()
    return deleted
