"""ctm_auth.cache.RedisCache: Django's Redis cache, with one redis-py client per pool."""
import pytest
from django.core.cache import cache

pytestmark = pytest.mark.needs_postgres  # Redis is the production pass's cache


def test_the_cache_reuses_one_client_and_keeps_working_across_a_redis_restart(redis_server):
    first = cache._cache.get_client(write=True)
    cache.set("greeting", "hello", 30)

    assert cache._cache.get_client(write=True) is first
    assert cache.get("greeting") == "hello"

    redis_server.restart()  # what it held is gone, the pool reconnects

    assert cache.get("greeting") is None
    cache.set("greeting", "again", 30)
    assert cache.get("greeting") == "again"
