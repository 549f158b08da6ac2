"""Fixed-window counters in the Django cache (Redis in production).

The state must be shared by every worker and app server, so it never lives
in process memory; the local-memory cache is only the single-process default.
"""
import hashlib
from dataclasses import dataclass

from django.core.cache import cache

from ctm_auth import clock


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` per ``window`` seconds for one identifier in ``scope``."""

    scope: str
    max_hits: int
    window: int

    def _key(self, identifier: str, bucket: int) -> str:
        # Hash the identifier: it may be an email address, and cache keys
        # should hold no personal data and no characters memcached rejects.
        digest = hashlib.sha256(identifier.encode()).hexdigest()[:32]
        return f"rl:{self.scope}:{digest}:{bucket}"

    def _bucket(self) -> tuple[int, float]:
        now = clock.timestamp()
        return int(now // self.window), now

    def retry_after(self, identifier: str) -> int:
        """Return seconds until another hit is allowed; 0 when allowed now."""
        bucket, now = self._bucket()
        if cache.get(self._key(identifier, bucket), 0) < self.max_hits:
            return 0
        return max(1, int((bucket + 1) * self.window - now + 0.999))

    def hit(self, identifier: str) -> int:
        """Count one hit atomically and return the count in this window."""
        bucket, _ = self._bucket()
        key = self._key(identifier, bucket)
        cache.add(key, 0, timeout=self.window + 5)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window + 5)
            return 1

    def take(self, identifier: str) -> tuple[int, int]:
        """Count a hit first; return (seconds to wait or 0, the bucket it was counted in).

        Counting before the work it guards (a password hash, a text) means
        parallel requests cannot all pass a check-then-count gap. A refused
        hit is handed straight back: it did not happen.
        """
        bucket, _ = self._bucket()
        key = self._key(identifier, bucket)
        cache.add(key, 0, timeout=self.window + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window + 5)
            count = 1
        if count <= self.max_hits:
            return 0, bucket
        self.give_back(identifier, bucket)
        return max(1, self.retry_after(identifier)), bucket

    def give_back(self, identifier: str, bucket: int) -> None:
        """Hand back a slot taken with take(): what it paid for did not happen."""
        try:
            cache.decr(self._key(identifier, bucket))
        except ValueError:  # the window ended meanwhile: nothing left to give back
            pass

    def consume(self, identifier: str) -> int:
        """Count a hit if allowed; return 0 on success or seconds to wait.

        The increment comes first and is checked after, so two workers racing
        for the last slot cannot both get it.
        """
        count = self.hit(identifier)
        if count <= self.max_hits:
            return 0
        return self.retry_after(identifier)

    def reset(self, identifier: str) -> None:
        bucket, _ = self._bucket()
        cache.delete(self._key(identifier, bucket))
