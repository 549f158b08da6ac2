"""Django's Redis cache, with one redis-py client per connection pool instead of one per command.

Django's RedisCacheClient builds a new ``redis.Redis`` for every call, and
its constructor fills in some 170 response callbacks: on a signed-in page
that asks the cache three times, about a tenth of the request's CPU. The
client holds no state of its own beyond its pool and is thread-safe, so one
per pool serves every call.
"""
from django.core.cache.backends import redis as django_redis
from django.utils.functional import cached_property


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(django_redis.RedisCache):
    @cached_property
    def _cache(self):
        return RedisCacheClient(self._servers, **self._options)
