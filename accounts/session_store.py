"""The session engine: Django's cached_db sessions, minus the round trips a sign-in does not need.

Reads come from the cache (Redis in production), so a signed-in page costs
no session query; every write still goes to the database first, which stays
the record (the Profile's session list reads it, and a cold or restarted
Redis falls back to it). What differs from Django's engine:

- A new key is not looked up before it is used. The key is 32 random
  characters (about 165 bits), and the INSERT that creates the row is
  ``must_create``: a collision fails on the primary key and ``create()``
  draws again, which is all the look-up protected against.
- ``cycle_key()`` (a sign-in rotating the key against session fixation)
  deletes the old session at once, but writes the new one only when the
  response saves it: one INSERT instead of an INSERT and an UPDATE.
- ``delete()`` is one DELETE (Django's reads the row first), then forgets
  the cached copy; in a transaction, again once it commits, since a request
  before the commit could read the row and cache it again.
- The cache is never needed: while it is down, sessions load from the
  database and sign-out still signs out. A copy the cache could not forget
  (it was unreachable from this server, then came back) would keep a
  revoked session alive, so copies live at most SESSION_CACHE_SECONDS
  (five minutes), however long the session: that bounds the harm, and
  costs a signed-in browser one session query per five minutes.
"""
import logging

from django.contrib.sessions.backends.base import CreateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import transaction
from django.utils.crypto import get_random_string

from accounts.app_settings import app_settings
from ctm_auth.faults import CACHE_ERRORS

logger = logging.getLogger(__name__)


class SessionStore(CachedDBStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # True between cycle_key() and the save that writes the new row.
        self._insert_on_save = False

    def _get_new_session_key(self) -> str:
        return get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")

    def cycle_key(self) -> None:
        data = self._session
        old_key = self.session_key
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        self._insert_on_save = True
        self.modified = True
        if old_key:
            self.delete(old_key)

    def save(self, must_create: bool = False) -> None:
        if self._insert_on_save and self.session_key is not None:
            # The INSERT of the key cycle_key() drew. A collision of 165
            # random bits is not a case to recover from: CreateError.
            must_create, self._insert_on_save = True, False
        DBStore.save(self, must_create=must_create)
        self._store_copy(self._session, self.get_expiry_age())

    def create(self) -> None:
        self._insert_on_save = False
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except CACHE_ERRORS:
            data = None
        if data is not None:
            return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        self._store_copy(data, self.get_expiry_age(expiry=row.expire_date))
        return data

    def delete(self, session_key=None) -> None:
        key = session_key or self.session_key
        if key is None:
            return
        if session_key is None and self._insert_on_save:
            return  # cycled and not yet written: no row, and no copy yet
        # _raw_delete: one DELETE, without the collector reading the row first.
        rows = self.model.objects.filter(session_key=key)
        rows._raw_delete(rows.db)
        self._forget_copy(key)
        if transaction.get_connection(rows.db).in_atomic_block:
            # Until the DELETE commits (a revocation runs in a transaction), a
            # request on this key can still read the row and cache it again:
            # forget once more when the row is gone for everybody.
            transaction.on_commit(lambda: self._forget_copy(key), using=rows.db)

    def _forget_copy(self, key: str) -> None:
        try:
            self._cache.delete(self.cache_key_prefix + key)
        except CACHE_ERRORS as error:
            # No part of the key in the log: it is the browser's credential.
            logger.warning("session ended while the cache is unavailable: its copy lives at most %d s (%s)",
                           app_settings.SESSION_CACHE_SECONDS, type(error).__name__)

    def _store_copy(self, data: dict, expiry_age: int) -> None:
        try:
            self._cache.set(self.cache_key, data, min(expiry_age, app_settings.SESSION_CACHE_SECONDS))
        except CACHE_ERRORS:
            # The row is the record; a cached copy older than it must not be
            # read instead (it may hold a step-up this save took away).
            try:
                self._cache.delete(self.cache_key)
            except CACHE_ERRORS:
                logger.warning("session saved while the cache is unavailable: its copy lives at most %d s",
                               app_settings.SESSION_CACHE_SECONDS)
