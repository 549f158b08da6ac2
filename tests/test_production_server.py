"""The production configuration served by gunicorn, as a deployment runs it.

Everything runs in subprocesses: ``collectstatic`` into a fresh STATIC_ROOT,
gunicorn (two workers) with ctm_auth.settings.production, a redis-server of
its own as cache and Celery broker, and this run's PostgreSQL test database.
Requests go over a real socket. Pages carry ``X-Forwarded-Proto: https`` and
``X-Forwarded-For`` as the load balancer adds them; health probes speak plain
HTTP with whatever Host they like.

The fault scenarios stop our own Redis, point DATABASE_URL at a port where
nothing listens, or at one that accepts and never answers (a hung server):
the probes and the pages must answer within a probe's timeout, with a 503
that names the part, never a 500.
"""
import contextlib
import gzip
import http.client
import http.cookies
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts import audit
from accounts.models import AuditEvent
from tests.servers import RedisServer, free_port
from tests.test_deploy import PROJECT_DIR, manage, production_env

GUNICORN = Path(sys.executable).with_name("gunicorn")
HOST = "ctm.example.com"
CLIENT_IP = "203.0.113.7"
START_TIMEOUT = 20
REQUEST_TIMEOUT = 10
# A probe's own timeout is a few seconds; readiness must answer inside it.
PROBE_BUDGET = 5
LOGIN = "/account/login/"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Client:
    """One browser behind the load balancer; keeps its cookies (they are all Secure, as in production)."""

    port: int
    host: str = HOST
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, https: bool = True, form: dict | None = None,
                headers: dict[str, str] | None = None) -> Response:
        sent = {"Host": self.host}
        if https:
            sent |= {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT_IP}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{self.host}"}
        sent |= headers or {}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            conn.close()
        self._keep_cookies(response)
        return response

    def _keep_cookies(self, response: Response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def submit(self, path: str, data: dict[str, str]) -> Response:
        """GET the form's page, then POST ``data`` with its CSRF token, as a browser would."""
        page = self.get(path)
        assert page.status == 200, page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request("POST", path, form={"csrfmiddlewaretoken": token, **data})


class Gunicorn:
    """``gunicorn ctm_auth.wsgi`` with production settings on a spare port; its log kept for the asserts."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.port = free_port()
        self.env = env
        self.log_path = log_dir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(GUNICORN), "ctm_auth.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "2", "--timeout", "20", "--graceful-timeout", "3", "--no-control-socket"],
                cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers_health_check():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start in {START_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.1)
        return self

    def _answers_health_check(self) -> bool:
        try:
            return Client(self.port).get("/healthz", https=False).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop this gunicorn (its master and workers: their own process group) and nothing else."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, **kwargs) -> Client:
        return Client(self.port, **kwargs)


class SilentServer:
    """A port that accepts connections and never answers: a hung PostgreSQL or Redis, as clients see it.

    The kernel completes each handshake into the listen backlog; nobody ever
    accepts, so a client waits for a greeting until its own timeout fires.
    """

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.socket.getsockname()[1]

    def close(self) -> None:
        self.socket.close()


def readiness(server: Gunicorn) -> tuple[Response, float]:
    started = time.monotonic()
    response = server.client(host="10.0.0.5").get("/readyz", https=False)
    return response, time.monotonic() - started


def pytest_database_url() -> str:
    """The URL of the PostgreSQL database pytest-django created for this run."""
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "postgres")
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(static_root: Path, *, database_url: str, redis_url: str) -> dict[str, str]:
    # The server reads rows this process writes, so it must hold the same encryption keys.
    return production_env(
        STATIC_ROOT=str(static_root), DATABASE_URL=database_url, REDIS_URL=redis_url,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS), ALLOWED_HOSTS=HOST,
        TRUSTED_PROXY_COUNT="1",
    )


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("staticfiles")
    result = manage("collectstatic", "--noinput", env=production_env(STATIC_ROOT=str(root)))
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this module's own: the tests stop it, never the suite's."""
    server = RedisServer().start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log_dir: Path) -> Iterator[Gunicorn]:
    server = Gunicorn(env, log_dir).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def test_database(django_db_setup) -> str:
    """The URL of this run's PostgreSQL test database (migrated by pytest-django)."""
    if connection.vendor != "postgresql":
        pytest.fail("needs_postgres tests run in the PostgreSQL pass of `make test`, never on SQLite.")
    return pytest_database_url()


@pytest.fixture(scope="module")
def server(test_database, static_root, redis_server, tmp_path_factory) -> Iterator[Gunicorn]:
    """gunicorn on the test database and our own Redis (cache and broker)."""
    env = server_env(static_root, database_url=test_database, redis_url=redis_server.url)
    with gunicorn(env, tmp_path_factory.mktemp("gunicorn")) as running:
        yield running


@pytest.fixture(scope="module")
def server_with_hung_redis(test_database, static_root, tmp_path_factory) -> Iterator[Gunicorn]:
    """gunicorn on the test database whose Redis accepts connections and never answers."""
    with silent_server() as hung:
        env = server_env(static_root, database_url=test_database, redis_url=f"redis://127.0.0.1:{hung.port}/0")
        with gunicorn(env, tmp_path_factory.mktemp("gunicorn")) as running:
            yield running


@pytest.fixture(scope="module")
def server_without_database(static_root, redis_server, tmp_path_factory) -> Iterator[Gunicorn]:
    """gunicorn whose DATABASE_URL names a port where nothing listens (PostgreSQL is down)."""
    env = server_env(static_root, database_url=f"postgres://postgres@127.0.0.1:{free_port()}/ctm_auth",
                     redis_url=redis_server.url)
    with gunicorn(env, tmp_path_factory.mktemp("gunicorn")) as running:
        yield running


@pytest.fixture(scope="module")
def server_with_hung_database(static_root, redis_server, tmp_path_factory) -> Iterator[Gunicorn]:
    """gunicorn whose PostgreSQL accepts connections and never answers (production's connect timeout)."""
    with silent_server() as hung:
        env = server_env(static_root, database_url=f"postgres://postgres@127.0.0.1:{hung.port}/ctm_auth",
                         redis_url=redis_server.url)
        with gunicorn(env, tmp_path_factory.mktemp("gunicorn")) as running:
            yield running


def assert_briefly_unavailable(response: Response) -> None:
    assert response.status == 503, response.text
    assert "Briefly unavailable" in response.text
    assert "nothing was changed" in response.text
    assert "Traceback" not in response.text and "Internal Server Error" not in response.text
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.needs_postgres
def test_hashed_static_file_is_served_by_gunicorn_with_a_ten_year_cache(server, static_root):
    hashed = json.loads((static_root / "staticfiles.json").read_text())["paths"]["ctm_auth/css/app.css"]
    assert re.fullmatch(r"ctm_auth/css/app\.[0-9a-f]{12}\.css", hashed)

    page = server.client().get(LOGIN)
    stylesheet = server.client().get(f"/static/{hashed}")
    compressed = server.client().get(f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})

    assert f'<link rel="stylesheet" href="/static/{hashed}">' in page.text
    assert stylesheet.status == 200
    assert stylesheet.headers["Content-Type"] == 'text/css; charset="utf-8"'
    assert stylesheet.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert stylesheet.body == (static_root / hashed).read_bytes()
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.body) == stylesheet.body


@pytest.mark.needs_postgres
def test_unhashed_static_name_is_served_with_a_one_minute_cache(server, static_root):
    stylesheet = server.client().get("/static/ctm_auth/css/app.css")

    assert stylesheet.status == 200
    assert stylesheet.headers["Cache-Control"] == "max-age=60, public"
    assert stylesheet.body == (static_root / "ctm_auth/css/app.css").read_bytes()


@pytest.mark.needs_postgres
def test_healthz_answers_plain_http_with_any_host(server):
    probe = server.client(host="10.0.0.5:8000").get("/healthz", https=False)
    page_with_that_host = server.client(host="10.0.0.5:8000").get(LOGIN)
    page_over_plain_http = server.client().get(LOGIN, https=False)

    assert (probe.status, probe.json()) == (200, {"status": "ok"})
    assert probe.headers["Cache-Control"] == "no-store"
    assert page_with_that_host.status == 400
    assert page_over_plain_http.status == 301
    assert page_over_plain_http.headers["Location"] == f"https://{HOST}{LOGIN}"


@pytest.mark.needs_postgres
def test_readyz_reports_database_cache_and_broker_ok(server):
    response, _seconds = readiness(server)

    assert response.status == 200
    assert response.json() == {"status": "ok", "failing": [],
                               "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_sign_in_under_gunicorn_reaches_the_profile_and_audits_the_forwarded_address(server, make_user, password):
    user = make_user("gunicorn@example.test", name="Gina Gunicorn")
    browser = server.client()

    signed_in = browser.submit(LOGIN, {"email": user.email, "password": password})
    profile = browser.get(signed_in.headers["Location"])

    assert signed_in.status == 302, signed_in.text
    assert "__Host-sessionid" in browser.cookies
    assert profile.status == 200
    assert "Gina Gunicorn" in profile.text
    event = AuditEvent.objects.get(event_type=audit.SIGN_IN_SUCCEEDED, actor=user)
    assert event.ip_address == CLIENT_IP


@pytest.mark.needs_postgres
def test_redis_down_readyz_names_cache_and_broker_and_sign_in_answers_briefly_unavailable(server, redis_server):
    browser = server.client()
    redis_server.stop()
    try:
        ready, seconds = readiness(server)
        alive = server.client(host="10.0.0.5").get("/healthz", https=False)
        sign_in_page = browser.get(LOGIN)
        sign_in = browser.submit(LOGIN, {"email": "someone@example.test", "password": "not the password"})
    finally:
        redis_server.start()
    back, _seconds = readiness(server)

    assert ready.status == 503
    assert ready.json()["failing"] == ["cache", "broker"]
    assert ready.json()["checks"]["database"] == "ok"
    assert seconds < PROBE_BUDGET
    assert alive.status == 200
    assert sign_in_page.status == 200 and "Sign in" in sign_in_page.text
    assert_briefly_unavailable(sign_in)
    assert f"cache unavailable during POST {LOGIN}" in server.log()
    assert back.status == 200, back.text


@pytest.mark.needs_postgres
def test_redis_hung_readyz_and_sign_in_answer_before_the_probe_gives_up(server_with_hung_redis):
    browser = server_with_hung_redis.client()

    ready, seconds = readiness(server_with_hung_redis)
    started = time.monotonic()
    sign_in = browser.submit(LOGIN, {"email": "someone@example.test", "password": "not the password"})

    assert ready.status == 503
    assert ready.json()["failing"] == ["cache", "broker"]
    assert seconds < PROBE_BUDGET
    assert_briefly_unavailable(sign_in)
    assert time.monotonic() - started < PROBE_BUDGET


def test_database_down_healthz_answers_and_readyz_names_the_database(server_without_database):
    alive = server_without_database.client(host="10.0.0.5").get("/healthz", https=False)
    ready, seconds = readiness(server_without_database)

    assert alive.status == 200
    assert ready.status == 503
    assert ready.json()["failing"] == ["database"]
    assert ready.json()["checks"] == {"database": "unavailable (OperationalError)", "cache": "ok", "broker": "ok"}
    assert seconds < PROBE_BUDGET


def test_database_down_sign_in_answers_briefly_unavailable(server_without_database):
    """The empty form needs no database; anything that reads a session or a user answers 503."""
    first_visit = server_without_database.client()
    returning = server_without_database.client(cookies={"__Host-sessionid": "0123456789abcdefghijklmnopqrstuv"})

    empty_form = first_visit.get(LOGIN)
    sign_in = first_visit.submit(LOGIN, {"email": "someone@example.test", "password": "not the password"})
    returning_visit = returning.get(LOGIN)

    assert empty_form.status == 200 and "Sign in" in empty_form.text
    assert_briefly_unavailable(sign_in)
    assert_briefly_unavailable(returning_visit)
    log = server_without_database.log()
    assert f"database unavailable during POST {LOGIN}" in log
    assert "Internal Server Error" not in log


def test_database_hung_readyz_names_the_database_before_the_probe_gives_up(server_with_hung_database):
    ready, seconds = readiness(server_with_hung_database)

    assert ready.status == 503
    assert ready.json()["failing"] == ["database"]
    assert seconds < PROBE_BUDGET


def test_database_hung_sign_in_answers_briefly_unavailable_in_seconds(server_with_hung_database):
    browser = server_with_hung_database.client()

    started = time.monotonic()
    sign_in = browser.submit(LOGIN, {"email": "someone@example.test", "password": "not the password"})

    assert_briefly_unavailable(sign_in)
    assert time.monotonic() - started < PROBE_BUDGET
