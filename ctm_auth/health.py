"""Health endpoints for load balancers and orchestrators.

``/healthz``: the process is up and serving (no outside service is touched).
``/readyz``: the database, the cache and the Celery broker answer; 503 with
the failing part named otherwise, so a load balancer stops sending traffic
to an app server that cannot serve it.

Answered by a middleware placed first: before host validation (a probe may
use the server's IP address as Host), before the HTTPS redirect (probes
speak plain HTTP inside the network) and before sessions.
"""
import json
import secrets
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
BROKER_TIMEOUT = 2


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key, value = "readyz:probe", secrets.token_hex(4)
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("cache did not keep a value")


def check_broker() -> None:
    """Connect once to the Celery broker when the outbox uses Celery (skipped otherwise).

    No retries and short socket timeouts: a probe gives up after a few
    seconds, and an answer that comes later tells the load balancer nothing.
    """
    from ctm_auth.celery import app

    options = {"socket_connect_timeout": BROKER_TIMEOUT, "socket_timeout": BROKER_TIMEOUT}
    with app.connection_for_write(transport_options=options) as broker:
        broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)


def readiness() -> dict[str, str]:
    """Return each part's state: "ok", or the failure's type."""
    from accounts.app_settings import app_settings as accounts_settings

    checks: dict[str, Callable[[], None]] = {"database": check_database, "cache": check_cache}
    if accounts_settings.DELIVERY_QUEUE == "celery":
        checks["broker"] = check_broker
    states = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type says which
            states[name] = f"unavailable ({type(exc).__name__})"
        else:
            states[name] = "ok"
    return states


def _json(status: int, payload: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            if request.path_info == HEALTH_PATH:
                return _json(200, {"status": "ok"})
            if request.path_info == READY_PATH:
                states = readiness()
                failing = [name for name, state in states.items() if state != "ok"]
                return _json(503 if failing else 200, {
                    "status": "unavailable" if failing else "ok", "failing": failing, "checks": states,
                })
        return self.get_response(request)


