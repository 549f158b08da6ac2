"""One answer per user, kept in the shared cache, with the database as its fallback.

For answers every page asks for (agencies.policy's two-factor requirement,
agencies.preferences' time zone, agencies.navigation's menu): one cache read
per request for all of them, the computation only on a miss. The cache is only a shortcut: when it is unreachable the
answer is computed and the failure logged, never raised, and forgetting an
answer never fails the change that made it stale.
"""
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache

from ctm_auth.faults import CACHE_ERRORS

_PREFETCHED_ATTR = "_per_user_cache_prefetched"
# What a request learnt from its first read of every answer (kept on the user).
_READ, _CACHE_DOWN = "read", "cache down"


class PerUserCache:
    #: Every answer kept this way; a request's first question reads all of a
    #: user's answers in one round trip (get_many), the rest then cost none.
    everyone: list["PerUserCache"] = []

    def __init__(self, *, name: str, key_prefix: str, timeout: int, logger: logging.Logger,
                 compute: Callable[[Any], Any]):
        self.name = name  # in the log's words: "two-factor policy", "agency time zone"
        self.key_prefix = key_prefix
        self.compute = compute  # user -> the answer (cacheable)
        self.timeout = timeout
        self.logger = logger  # the owning module's, so operators' log filters keep working
        # Moved by every forget(): a memo made before it is not used again.
        self._generation = 0
        PerUserCache.everyone.append(self)

    def key(self, user_id: int) -> str:
        return f"{self.key_prefix}:user:{user_id}"

    def get_for(self, user) -> Any:
        """Return the user's answer: from the ``user`` object, else the cache, else ``compute(user)``.

        The object lives for one request (the request's user), so the memo
        cannot outlive it; a forget() in between makes it stale at once. The
        first question of a request reads every PerUserCache's answer for the
        user in one round trip (get_many); when any is missing, all the
        missing ones are computed (agencies.memberships shares their one
        query) and stored in one round trip (set_many).
        """
        memo = getattr(user, self._memo_attr, None)
        if memo is not None and memo[0] == self._generation:
            return memo[1]
        prefetched = getattr(user, _PREFETCHED_ATTR, None)
        if prefetched is None:
            setattr(user, _PREFETCHED_ATTR, _READ)  # before computing: an answer that asks another reads it alone
            if self._read_all(user):
                memo = getattr(user, self._memo_attr, None)
                if memo is not None and memo[0] == self._generation:
                    return memo[1]
                return self.get(user)  # forgotten while the others were computed
            # The cache is down: logged once, and no answer of this request asks it again.
            setattr(user, _PREFETCHED_ATTR, _CACHE_DOWN)
            value = self.compute(user)
        elif prefetched is _CACHE_DOWN:
            value = self.compute(user)
        else:
            value = self.get(user)  # forgotten since this request read it
        setattr(user, self._memo_attr, (self._generation, value))
        return value

    def get(self, user) -> Any:
        """Return the cached answer, else ``compute(user)``'s, stored for next time."""
        key = self.key(user.pk)
        try:
            cached = cache.get(key)
        except CACHE_ERRORS as error:
            # Skip the set too: a second call to a dead cache would only add its timeout.
            self._log("read", error)
            return self.compute(user)
        if cached is not None:
            return cached
        value = self.compute(user)
        try:
            cache.set(key, value, self.timeout)
        except CACHE_ERRORS as error:
            self._log("store", error)
        return value

    @property
    def _memo_attr(self) -> str:
        return f"_cached_{self.key_prefix}"

    def _read_all(self, user) -> bool:
        """Memo every PerUserCache's answer for ``user``: read in one round trip, the missing ones computed.

        False when the cache is down (nothing memoised).
        """
        caches = {each.key(user.pk): each for each in PerUserCache.everyone}
        try:
            found = cache.get_many(list(caches))
        except CACHE_ERRORS as error:
            self._log("read", error)
            return False
        missing = {key: each.compute(user) for key, each in caches.items() if key not in found}
        for timeout in {caches[key].timeout for key in missing}:  # one round trip each; the answers share one
            try:
                cache.set_many({key: value for key, value in missing.items() if caches[key].timeout == timeout},
                               timeout)
            except CACHE_ERRORS as error:
                self._log("store", error)
        for key, value in (found | missing).items():
            each = caches[key]
            setattr(user, each._memo_attr, (each._generation, value))
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
