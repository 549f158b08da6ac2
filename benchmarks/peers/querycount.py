"""Count the SQL queries and Redis round trips of each request, the same way for every site.

``counting(application)`` wraps a Django WSGI application: around each call
it installs ``connection.execute_wrapper`` (every statement Django sends,
whichever app sent it) and counts redis-py's ``send_packed_command`` (one per
round trip; a pipeline is one). The counts go back as response headers,
``X-Bench-Queries`` and ``X-Bench-Cache-Calls``, so the driver can read them
over HTTP without any site knowing it is measured.

A request carrying ``X-Bench-Log: 1`` also has its statements and cache
commands appended to the file named by BENCH_SQL_LOG (for the report's query
log); no other request pays for that.
"""
import os
import threading

from django.db import connection

_state = threading.local()


def _cache_calls() -> list[str] | None:
    return getattr(_state, "cache_calls", None)


def _patch_redis() -> None:
    """Count round trips (send_packed_command) and, for the log, name each command (send_command)."""
    try:
        from redis.connection import AbstractConnection
    except ImportError:  # a site without Redis
        return
    if getattr(AbstractConnection, "_bench_patched", False):
        return
    send_packed, send_command = AbstractConnection.send_packed_command, AbstractConnection.send_command

    def counted_send_packed(self, command, *args, **kwargs):
        calls = _cache_calls()
        if calls is not None:
            calls.append("")  # a round trip; send_command below fills in its name
        return send_packed(self, command, *args, **kwargs)

    def named_send_command(self, *args, **kwargs):
        result = send_command(self, *args, **kwargs)
        calls = _cache_calls()
        if calls and calls[-1] == "":
            calls[-1] = " ".join(_text(arg) for arg in args[:2])
        return result

    AbstractConnection.send_packed_command = counted_send_packed
    AbstractConnection.send_command = named_send_command
    AbstractConnection._bench_patched = True


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def counting(application):
    _patch_redis()
    log_path = os.environ.get("BENCH_SQL_LOG", "")

    def wrapped(environ, start_response):
        statements: list[str] = []
        _state.cache_calls = cache_calls = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        def start(status, headers, exc_info=None):
            # Django calls start_response once the response is complete, after
            # the middleware (session save included) has run.
            headers.append(("X-Bench-Queries", str(len(statements))))
            headers.append(("X-Bench-Cache-Calls", str(len(cache_calls))))
            return start_response(status, headers, exc_info)

        try:
            with connection.execute_wrapper(count):
                result = application(environ, start)
        finally:
            _state.cache_calls = None
        if log_path and environ.get("HTTP_X_BENCH_LOG") == "1":
            with open(log_path, "a") as log:
                log.write(f"### {environ['REQUEST_METHOD']} {environ['PATH_INFO']}: "
                          f"{len(statements)} queries, {len(cache_calls)} cache calls\n")
                log.writelines(f"SQL   {sql}\n" for sql in statements)
                log.writelines(f"CACHE {call or '(pipeline)'}\n" for call in cache_calls)
        return result

    return wrapped
