"""The session engine (accounts/session_store.py): read from Redis, written to the database first.

A session's cached copy is a shortcut, never the record: pages keep working
while Redis is down, sign-out signs out, and a copy lives at most
ACCOUNTS_SESSION_CACHE_SECONDS, so one the cache failed to forget cannot keep
a revoked session alive for long.
"""
import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.app_settings import app_settings
from accounts.session_store import SessionStore
from tests.conftest import sign_in

pytestmark = pytest.mark.needs_postgres
PROFILE = "/account/profile/"


def _cache_key(client) -> str:
    return cache.make_key(SessionStore.cache_key_prefix + client.cookies["sessionid"].value)


def test_a_signed_in_session_is_in_the_database_and_cached_for_at_most_five_minutes(client, user_with_mfa,
                                                                                        redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    key = client.cookies["sessionid"].value

    assert Session.objects.filter(session_key=key).exists()  # the record
    ttl = cache._cache.get_client(write=False).ttl(_cache_key(client))
    assert 0 < ttl <= app_settings.SESSION_CACHE_SECONDS == 300


def test_sign_in_rotates_the_key_and_the_old_session_is_gone_from_both(client, user_with_mfa, redis_server):
    client.get(reverse("accounts:login"))
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"email": user_with_mfa.email,
                                                       "password": "correct horse battery staple 42"})
    assert response.status_code == 302
    before = client.cookies["sessionid"].value

    sign_in_response = client.post(reverse("accounts:login_verify"), {"code": "424242"})

    assert sign_in_response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert cache.get(SessionStore.cache_key_prefix + before) is None
    # A browser still holding the old cookie is no one.
    stale = Client()
    stale.cookies["sessionid"] = before
    assert stale.get(PROFILE).status_code == 302


def test_sign_out_while_redis_is_down_signs_out(client, user_with_mfa, redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    key = client.cookies["sessionid"].value
    redis_server.stop()

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    redis_server.start()
    again = Client()
    again.cookies["sessionid"] = key
    assert again.get(PROFILE).status_code == 302  # sent to sign in


def test_pages_while_redis_is_down_read_the_session_from_the_database(client, user_with_mfa, redis_server):
    assert sign_in(client, user_with_mfa).status_code == 302
    redis_server.stop()

    response = client.get(PROFILE)

    assert response.status_code == 200 and user_with_mfa.email in response.content.decode()


def test_a_session_deleted_from_the_database_alone_ends_with_its_cached_copy(client, user_with_mfa, redis_server):
    """The harm of a cache that missed a revocation is bounded: the copy expires, the database decides."""
    assert sign_in(client, user_with_mfa).status_code == 302
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).delete()  # the cache is not told, as in a partition
    assert client.get(PROFILE).status_code == 200  # the window the copy's lifetime bounds

    cache.delete(SessionStore.cache_key_prefix + key)  # SESSION_CACHE_SECONDS later, Redis drops the copy

    assert client.get(PROFILE).status_code == 302


def test_a_copy_cached_while_a_revocation_commits_is_forgotten_once_it_commits(
        client, user_with_mfa, redis_server, django_capture_on_commit_callbacks):
    """A stolen cookie's request that slips in before the revocation commits does not keep the session alive."""
    assert sign_in(client, user_with_mfa).status_code == 302
    key = client.cookies["sessionid"].value
    data = SessionStore(key).load()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        SessionStore(key).delete()  # the revocation, not yet committed
        # Meanwhile a request on the stolen cookie, on another connection,
        # misses the cache, still sees the row and caches it again (as load() does).
        SessionStore(key)._store_copy(data, app_settings.SESSION_CACHE_SECONDS)
        assert cache.get(SessionStore.cache_key_prefix + key) is not None

    assert cache.get(SessionStore.cache_key_prefix + key) is None
    assert client.get(PROFILE).status_code == 302  # sent to sign in
