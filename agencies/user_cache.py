"""One answer per user, kept in the shared cache, with the database as its fallback.

For answers every page asks for (agencies.policy's two-factor requirement,
agencies.preferences' time zone): a cache read per request, the computation
only on a miss. The cache is only a shortcut: when it is unreachable the
answer is computed and the failure logged, never raised, and forgetting an
answer never fails the change that made it stale.
"""
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache

from ctm_auth.faults import CACHE_ERRORS

_PREFETCHED_ATTR = "_per_user_cache_prefetched"


class PerUserCache:
    #: Every answer kept this way; a request's first question reads all of a
    #: user's answers in one round trip (get_many), the rest then cost none.
    everyone: list["PerUserCache"] = []

    def __init__(self, *, name: str, key_prefix: str, timeout: int, logger: logging.Logger):
        self.name = name  # in the log's words: "two-factor policy", "agency time zone"
        self.key_prefix = key_prefix
        self.timeout = timeout
        self.logger = logger  # the owning module's, so operators' log filters keep working
        # Moved by every forget(): a memo made before it is not used again.
        self._generation = 0
        PerUserCache.everyone.append(self)

    def key(self, user_id: int) -> str:
        return f"{self.key_prefix}:user:{user_id}"

    def get(self, user_id: int, compute: Callable[[], Any]) -> Any:
        """Return the cached value, else ``compute()``'s, stored for next time (it must be cacheable)."""
        key = self.key(user_id)
        try:
            cached = cache.get(key)
        except CACHE_ERRORS as error:
            # Skip the set too: a second call to a dead cache would only add its timeout.
            self._log("read", error)
            return compute()
        if cached is not None:
            return cached
        value = compute()
        try:
            cache.set(key, value, self.timeout)
        except CACHE_ERRORS as error:
            self._log("store", error)
        return value

    def get_for(self, user, compute: Callable[[], Any]) -> Any:
        """As get(), kept on the ``user`` object too: a page asking again pays no cache round trip.

        The object lives for one request (the request's user), so the memo
        cannot outlive it; a forget() in between makes it stale at once.
        """
        memo = user.__dict__.get(self._memo_key)
        if memo is not None and memo[0] == self._generation:
            return memo[1]
        generation = self._generation
        if not user.__dict__.get(_PREFETCHED_ATTR):
            user.__dict__[_PREFETCHED_ATTR] = True
            if not self._prefetch_all(user):
                # Logged once; a second call to a dead cache would only add its timeout.
                value = compute()
                user.__dict__[self._memo_key] = (generation, value)
                return value
            memo = user.__dict__.get(self._memo_key)
            if memo is not None:
                return memo[1]
        value = self.get(user.pk, compute)
        user.__dict__[self._memo_key] = (generation, value)
        return value

    @property
    def _memo_key(self) -> str:
        return f"_cached_{self.key_prefix}"

    def _prefetch_all(self, user) -> bool:
        """Read every PerUserCache's answer for ``user`` in one round trip; False when the cache is down."""
        caches = {each.key(user.pk): each for each in PerUserCache.everyone}
        try:
            found = cache.get_many(list(caches))
        except CACHE_ERRORS as error:
            self._log("read", error)
            return False
        for key, value in found.items():
            each = caches[key]
            user.__dict__[each._memo_key] = (each._generation, value)
        return True

    def forget(self, user_ids: Iterable[int]) -> None:
        """Drop these users' answers."""
        self._generation += 1
        try:
            cache.delete_many([self.key(user_id) for user_id in user_ids])
        except CACHE_ERRORS as error:
            self._log("forget", error)

    def _log(self, action: str, error: BaseException) -> None:
        self.logger.warning("%s: cache unavailable, could not %s an answer (%s)", self.name, action, type(error).__name__)
