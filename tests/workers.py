"""Real Celery workers for the outbox tests: subprocesses on a broker of the test's own.

A worker is ``celery -A ctm_auth worker`` in its own process group, on the
PostgreSQL test database of this pytest run, the cache the test process
uses (so rate limits are shared) and a RedisServer broker (tests/servers.py)
that only the test talks to. Its log is kept in a file: ``wait_until``
quotes it when a wait runs out, and ``print_logs_if_failed`` prints it
after a failed test.

Typical use, in a test module::

    with WorkerPool(broker.url, tmp_path) as pool, web_side_dispatches_to(broker.url):
        pool.start(env=smtp_environment(smtp), beat=True)
        ...  # a request whose email the worker sends
        wait_until(lambda: row_state() == "sent", logs=pool.logs)

``env`` takes any extra variables (a fake Twilio's URL for the Text
Messages channel, say); they override the defaults of ``worker_environment``.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tests.servers import SMTPServer

BASE_DIR = Path(__file__).resolve().parent.parent
CELERY = BASE_DIR / ".venv" / "bin" / "celery"


def database_url() -> str:
    """Return the URL of this run's test database (test_<name>, or test_<name>_gw0 under xdist)."""
    if connection.vendor != "postgresql":
        pytest.fail("needs_postgres tests run in the PostgreSQL pass of `make test`, never on SQLite.")
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def cache_environment() -> dict[str, str]:
    """Point the worker at the test process's Redis cache, with the same key prefix."""
    cache = settings.CACHES["default"]
    if "redis" not in cache["BACKEND"].lower():
        pytest.fail("Celery worker tests share a Redis cache with the worker: set REDIS_URL.")
    return {"REDIS_URL": cache["LOCATION"], "CACHE_KEY_PREFIX": cache.get("KEY_PREFIX", "")}


def worker_environment(broker_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a worker that shares this test run's database, cache and keys."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ctm_auth.settings.test",
        "PYTHONPATH": str(BASE_DIR),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url(),
        **cache_environment(),
        "CELERY_BROKER_URL": broker_url,
        # The worker must decrypt the payloads this process encrypted.
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "DELIVERY_QUEUE": "celery",
        "DELIVERY_SWEEP_INTERVAL": "1",
    }
    env.update({name: str(value) for name, value in extra.items()})
    return env


def smtp_environment(smtp: SMTPServer, *, timeout: int = 5) -> dict[str, str]:
    """Variables that make the worker send its emails to ``smtp`` (ctm_auth/settings/base.py reads them)."""
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port), "EMAIL_TIMEOUT": str(timeout), "EMAIL_USE_TLS": "false",
            "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}


class CeleryWorker:
    """One ``celery worker`` process group (main process, its pool child, beat with ``-B``)."""

    #: Every worker started in this test process, so a failed test can print their logs.
    started: list["CeleryWorker"] = []

    def __init__(self, *, broker_url: str, directory: Path, env: dict[str, str] | None = None,
                 beat: bool = False, concurrency: int = 1):
        self.name = f"outbox-{uuid.uuid4().hex[:8]}"
        self.beat = beat
        self.log_path = directory / f"{self.name}.log"
        self.env = worker_environment(broker_url, **(env or {}))
        self.command = [str(CELERY), "-A", "ctm_auth", "worker", "--pool=prefork", f"--concurrency={concurrency}",
                        "--loglevel=INFO", "-n", f"{self.name}@%h", "--without-mingle", "--without-gossip"]
        if beat:
            self.command += ["-B", "--schedule", str(directory / f"{self.name}-beat-schedule")]
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 30.0) -> "CeleryWorker":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=BASE_DIR, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        CeleryWorker.started.append(self)
        signs = [f"{self.name}@"] + (["beat: Starting"] if self.beat else [])
        wait_until(lambda: self._ready(signs), timeout=timeout, what=f"worker {self.name} to be ready",
                   logs=self.log)
        return self

    def _ready(self, signs: list[str]) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()}")
        text = self.log()
        return all(sign in text for sign in signs) and any(
            self.name in line and line.rstrip().endswith("ready.") for line in text.splitlines())

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as when the machine or container dies: no cleanup runs."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        # The pool child and beat outlive the leader for a moment; wait until they are gone.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def log(self, since: int = 0) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


class WorkerPool:
    """The workers of one test (or module) on one broker; ``close()`` kills every one of them."""

    def __init__(self, broker_url: str, directory: Path):
        self.broker_url = broker_url
        self.directory = Path(directory)
        self.workers: list[CeleryWorker] = []

    def start(self, *, env: dict[str, str] | None = None, beat: bool = False,
              timeout: float = 30.0) -> CeleryWorker:
        worker = CeleryWorker(broker_url=self.broker_url, directory=self.directory, env=env, beat=beat)
        self.workers.append(worker)
        return worker.start(timeout=timeout)

    def logs(self) -> str:
        return "\n".join(f"--- {worker.name} ({'running' if worker.alive else 'stopped'}) ---\n{worker.log()}"
                         for worker in self.workers)

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def wait_until(condition: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.05,
               what: str = "the condition", logs: Callable[[], str] | None = None):
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout} s for {what}; last value {value!r}"
                                 + (f"\n{logs()}" if logs else ""))
        time.sleep(interval)


@contextlib.contextmanager
def web_side_dispatches_to(broker_url: str) -> Iterator[None]:
    """Make this process queue outbox rows on ``broker_url`` through ctm_auth.celery.app.

    The app reads its Django settings once, at first use, and keeps a pool of
    broker connections: a setting changed later would not reach it. So the
    broker is set on the app itself, and the app forgets its pools on the way
    in and out, as Celery does after a fork. They are not closed: kombu keeps
    one pool per broker URL for the whole process and would hand the closed
    one back on the next use of that URL.
    """
    from ctm_auth.celery import app

    previous = app.conf.broker_url
    _drop_broker_connections(app)
    app.conf.broker_url = broker_url
    try:
        with override_settings(ACCOUNTS_DELIVERY_QUEUE="celery", CELERY_BROKER_URL=broker_url):
            yield
    finally:
        _drop_broker_connections(app)
        app.conf.broker_url = previous


def _drop_broker_connections(app) -> None:
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


def print_logs_if_failed(request: pytest.FixtureRequest, failures_before: int,
                         workers: list[CeleryWorker]) -> None:
    """After a failed test, print these workers' logs to the terminal (even under output capture)."""
    if request.session.testsfailed <= failures_before or not workers:
        return
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    text = "\n".join(f"--- log of Celery worker {worker.name} ---\n{worker.log()}" for worker in workers)
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        sys.stderr.write(f"\n===== {request.node.nodeid}: Celery worker logs =====\n{text}\n")
