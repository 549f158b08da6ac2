"""ctm-auth beside its peers, over HTTP under gunicorn: `python -m benchmarks.peers` (the second half of `make bench`).

What runs: four sites, each under gunicorn with 4 sync workers on a spare
port, each on a fresh PostgreSQL database and its own Redis database:

* ctm      - ctm-auth from .venv, production settings (benchmarks/peers/ctm_settings.py);
* 2fa      - django-two-factor-auth 1.18, its login wizard with a TOTP device;
* allauth  - django-allauth 65.22 with allauth.mfa and a TOTP authenticator;
* bare     - bare Django: the same Django middleware, a password sign-in, no second factor.

The peers run from the peers virtualenv (.bench/peers-venv, built by `make
bench`) with the same Django, Argon2id parameters, PostgreSQL, Redis cache
and HTTPS settings as ours (benchmarks/peers/peer_settings.py).

What it measures, per site, in interleaved rounds (every site once per round,
order rotated, after a warm-up), at BENCH_CONCURRENCY (8) clients:

* full sign-in: GET the sign-in page, POST the password, the step-2 page,
  POST a current TOTP code, the first page; sign-ins/s, server CPU per
  sign-in, SQL queries and Redis round trips per sign-in;
* the profile page (ours /account/profile/, two-factor-auth's
  /account/two_factor/, allauth's /accounts/2fa/) and a trivial signed-in
  page (/bench/trivial/): CPU, queries and Redis round trips per request;
* ours only: the Profile without the four sections the peers' pages do not
  have (/bench/profile-core/, benchmarks/peers/profile_core.py), to show
  what those sections cost and how the rest compares.

Server CPU is the utime+stime the gunicorn workers spent (from
/proc/<pid>/stat) over the phase, divided by its sign-ins or requests.
Queries and cache calls are counted inside each server by
benchmarks/peers/querycount.py and read from response headers.

Each sign-in is a new browser (no cookies) from its own address: the driver
sends X-Forwarded-Proto: https and X-Forwarded-For as a load balancer would,
and the sites trust one proxy. A fresh address per sign-in keeps allauth's
per-IP login limit (30/min) from throttling the run; ours only counts
failures per IP, and every sign-in here succeeds. TOTP codes are never
replayed: each site has BENCH_USERS users and a user signs in at most once
per 30-second time-step.

Settings (environment): BENCH_ROUNDS (5), BENCH_SIGNINS per site and round
(40), BENCH_PAGES per page and round (120), BENCH_CONCURRENCY (8),
BENCH_USERS (1024), BENCH_SITES (ctm,2fa,allauth,bare), PEERS_PYTHON
(.bench/peers-venv/bin/python), BENCH_POSTGRES (postgres://postgres@127.0.0.1:5432),
BENCH_REDIS (redis://127.0.0.1:6379). Quick look while developing:
`BENCH_ROUNDS=1 BENCH_SIGNINS=16 BENCH_PAGES=40 make bench`.

Output: one markdown table with the median and min-max of each figure, our
ratio to each peer and the goals met or missed; also written to
.bench/peers.md. The SQL and cache calls of one logged sign-in, profile and
trivial page per site go to .bench/peers-<site>-requests.log.
"""
import base64
import contextlib
import hmac
import html
import http.client
import http.cookies
import os
import re
import secrets
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.peers.seed import PASSWORD, bench_email, secret_bytes

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
BUILD_DIR = PROJECT_DIR / ".bench"
HOST = "bench.example.com"
REQUEST_TIMEOUT = 30
START_TIMEOUT = 60
WORKERS = 4


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


ROUNDS = env_int("BENCH_ROUNDS", 5)
SIGNINS = env_int("BENCH_SIGNINS", 40)
PAGES = env_int("BENCH_PAGES", 120)
CONCURRENCY = env_int("BENCH_CONCURRENCY", 8)
USERS = env_int("BENCH_USERS", 1024)
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
PEERS_PYTHON = os.environ.get("PEERS_PYTHON", str(BUILD_DIR / "peers-venv/bin/python"))
OUR_PYTHON = sys.executable


# --- The sites ---------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    key: str
    label: str
    python: str
    settings: str
    wsgi: str
    database: str
    redis_db: int
    login_path: str
    profile_path: str
    password_fields: Callable[[str], dict[str, str]]
    code_field: str | None  # None: no second step (bare Django)
    profile_core_path: str = ""  # ours only: the Profile with the peers' sections alone

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        inherited = {name: value for name, value in os.environ.items()
                     if name not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "PYTHONPATH")}
        return {**inherited, **extra, "DJANGO_SETTINGS_MODULE": self.settings, "PYTHONPATH": str(PROJECT_DIR),
                "DATABASE_URL": f"{POSTGRES}/{self.database}", "REDIS_URL": f"{REDIS}/{self.redis_db}",
                "STATIC_ROOT": str(BUILD_DIR / "peers-static" / self.key),
                "BENCH_SQL_LOG": str(BUILD_DIR / f"peers-{self.key}-requests.log")}


SITES = {
    "ctm": Site("ctm", "ctm-auth", OUR_PYTHON, "benchmarks.peers.ctm_settings", "benchmarks.peers.ctm_wsgi",
                "bench_ctm", 12, "/account/login/", "/account/profile/",
                lambda email: {"email": email, "password": PASSWORD}, "code", "/bench/profile-core/"),
    "2fa": Site("2fa", "two-factor-auth", PEERS_PYTHON, "benchmarks.peers.twofactor_site.settings",
                "benchmarks.peers.twofactor_site.wsgi", "bench_twofactor", 11, "/account/login/",
                "/account/two_factor/",
                lambda email: {"auth-username": email, "auth-password": PASSWORD}, "token-otp_token"),
    "allauth": Site("allauth", "allauth", PEERS_PYTHON, "benchmarks.peers.allauth_site.settings",
                    "benchmarks.peers.allauth_site.wsgi", "bench_allauth", 10, "/accounts/login/", "/accounts/2fa/",
                    lambda email: {"login": email, "password": PASSWORD}, "code"),
    "bare": Site("bare", "bare Django", PEERS_PYTHON, "benchmarks.peers.bare_site.settings",
                 "benchmarks.peers.bare_site.wsgi", "bench_bare", 9, "/accounts/login/", "",
                 lambda email: {"username": email, "password": PASSWORD}, None),
}
SEED_NAMES = {"ctm": "ctm", "2fa": "twofactor", "allauth": "allauth", "bare": "bare"}


def our_environment() -> dict[str, str]:
    """What ctm_auth.settings.production needs (as tests/test_deploy.production_env), for this host."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # a Fernet key
        "ALLOWED_HOSTS": HOST, "WEBAUTHN_RP_ID": HOST, "WEBAUTHN_ORIGINS": f"https://{HOST}",
        "TRUSTED_PROXY_COUNT": "1",
    }


# --- Databases, set-up, gunicorn ---------------------------------------------

def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(db: int) -> None:
    import redis

    redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def prepare(site: Site, env: dict[str, str]) -> subprocess.Popen:
    """Migrate, collect static files and seed the users: one shell pipeline per site, run in parallel."""
    recreate_database(site.database)
    flush_redis(site.redis_db)
    Path(env["BENCH_SQL_LOG"]).unlink(missing_ok=True)
    shutil.rmtree(env["STATIC_ROOT"], ignore_errors=True)
    python = site.python
    steps = [
        [python, "-m", "django", "migrate", "--noinput", "-v", "0"],
        [python, "-m", "django", "collectstatic", "--noinput", "-v", "0"],
        [python, "-m", "benchmarks.peers.seed", SEED_NAMES[site.key], str(USERS)],
    ]
    script = " && ".join(" ".join(map(str, step)) for step in steps)
    log = (BUILD_DIR / f"peers-{site.key}-setup.log").open("wb")
    return subprocess.Popen(["bash", "-c", script], cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One site under gunicorn (4 sync workers) in its own process group."""

    def __init__(self, site: Site, env: dict[str, str]):
        self.site, self.env, self.port = site, env, free_port()
        self.log_path = BUILD_DIR / f"peers-{site.key}-gunicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.site.python, "-m", "gunicorn", f"{self.site.wsgi}:application",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS), "--worker-class", "sync",
                 "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket"],
                cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(OSError):
                if Browser(self.port).get("/bench/trivial/").status == 302 and len(self.worker_pids()) == WORKERS:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.site.label} did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def cpu_seconds(self) -> float:
        """utime + stime of the workers so far (fields 14 and 15 of /proc/<pid>/stat)."""
        ticks = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None


# --- The browser ---------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    path: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Browser:
    """One browser behind the TLS-terminating load balancer: keeps its cookies (Secure ones too)."""

    port: int
    client_ip: str = "198.18.0.1"
    cookies: dict[str, str] = field(default_factory=dict)
    queries: int = 0
    cache_calls: int = 0
    log: bool = False

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": self.client_ip,
                   "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0 ctm-auth-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.log:
            headers["X-Bench-Log"] = "1"
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{HOST}",
                        "Referer": f"https://{HOST}{path}"}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read(), path)
        finally:
            conn.close()
        self.queries += int(response.headers.get("X-Bench-Queries", 0))
        self.cache_calls += int(response.headers.get("X-Bench-Cache-Calls", 0))
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def follow(self, response: Response) -> Response:
        """A redirect's target, as the browser loads it; any other response as it is."""
        if response.status in (301, 302, 303):
            return self.get(urllib.parse.urlsplit(response.headers["Location"]).path or "/")
        return response


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT = re.compile(r"<input\b([^>]*)>", re.I)
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


def form_for(page: Response, field_name: str) -> tuple[str, dict[str, str]]:
    """The action and hidden inputs (CSRF token, wizard step, method) of the page's form with ``field_name``."""
    for form_attributes, body in FORM.findall(page.text):
        if f'name="{field_name}"' not in body:
            continue
        hidden = {}
        for attributes in INPUT.findall(body):
            attrs = dict(ATTRIBUTE.findall(attributes))
            if attrs.get("type") == "hidden" and "name" in attrs:
                hidden[html.unescape(attrs["name"])] = html.unescape(attrs.get("value", ""))
        action = html.unescape(dict(ATTRIBUTE.findall(form_attributes)).get("action", "")) or page.path
        return urllib.parse.urlsplit(action).path, hidden
    raise AssertionError(f"no form with {field_name} on {page.path} ({page.status}):\n{page.text[:2000]}")


def totp(number: int, at: float) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as the user's authenticator app shows it."""
    digest = hmac.new(secret_bytes(number), struct.pack(">Q", int(at // 30)), "sha1").digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06}"


class UserPool:
    """Hands out bench users so that none signs in twice in one TOTP time-step (a code is never replayed)."""

    def __init__(self, count: int, *, one_per_step: bool):
        self.count, self.one_per_step = count, one_per_step
        self.last_step = [-1] * count
        self.in_use: set[int] = set()
        self.cursor = 0
        self.lock = threading.Lock()

    def take(self) -> int:
        while True:
            step = int(time.time() // 30)
            with self.lock:
                for _ in range(self.count):
                    number, self.cursor = self.cursor, (self.cursor + 1) % self.count
                    if number not in self.in_use and (not self.one_per_step or self.last_step[number] < step):
                        self.in_use.add(number)
                        return number
            time.sleep(0.2)  # every user has signed in this time-step: wait for the next

    def code_for(self, number: int) -> str:
        now = time.time()
        with self.lock:
            self.last_step[number] = max(self.last_step[number], int(now // 30))
        return totp(number, now)

    def give_back(self, number: int) -> None:
        with self.lock:
            self.in_use.discard(number)


_addresses = iter(range(1, 1 << 24))
_address_lock = threading.Lock()


def fresh_address() -> str:
    """A client address from 198.18.0.0/15 (benchmarking), a new one for each sign-in."""
    with _address_lock:
        n = next(_addresses) % (1 << 17)
    return f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


def sign_in(site: Site, port: int, pool: UserPool, *, log: bool = False) -> Browser:
    """One full sign-in, as a new browser: sign-in page, password, step-2 page, code, first page."""
    number = pool.take()
    try:
        browser = Browser(port, client_ip=fresh_address(), log=log)
        page = browser.get(site.login_path)
        first_field = next(iter(site.password_fields("")))
        action, hidden = form_for(page, first_field)
        page = browser.follow(browser.request("POST", action, {**hidden, **site.password_fields(bench_email(number))}))
        if site.code_field:
            action, hidden = form_for(page, site.code_field)
            page = browser.follow(browser.request("POST", action, {**hidden, site.code_field: pool.code_for(number)}))
        if page.status != 200 or page.path == site.login_path:
            raise AssertionError(f"{site.label}: sign-in ended at {page.path} ({page.status}):\n{page.text[:2000]}")
        return browser
    finally:
        pool.give_back(number)


# --- Measuring -----------------------------------------------------------------

def run_concurrently(total: int, work: Callable[[int], None]) -> float:
    """Run ``work(client)`` ``total`` times over CONCURRENCY threads; return the wall seconds."""
    remaining = iter(range(total))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        while not errors:
            with lock:
                if next(remaining, None) is None:
                    return
            try:
                work(index)
            except BaseException as error:  # noqa: BLE001 - reported once the threads are done
                errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


@dataclass
class Phase:
    count: int
    seconds: float
    cpu: float
    queries: int
    cache_calls: int


def measure(server: Server, count: int, work: Callable[[int], Browser]) -> Phase:
    counted = []
    cpu_before = server.cpu_seconds()
    seconds = run_concurrently(count, lambda index: counted.append(work(index)))
    cpu = server.cpu_seconds() - cpu_before
    return Phase(count, seconds, cpu, sum(b.queries for b in counted), sum(b.cache_calls for b in counted))


def page_loads(server: Server, browsers: list[Browser], path: str, count: int) -> Phase:
    def load(index: int) -> Browser:
        browser = browsers[index]
        before_q, before_c = browser.queries, browser.cache_calls
        response = browser.get(path)
        if response.status != 200:
            raise AssertionError(f"{server.site.label}: {path} answered {response.status}")
        return Browser(0, queries=browser.queries - before_q, cache_calls=browser.cache_calls - before_c)

    return measure(server, count, load)


FIGURES = [
    # (key, label, unit, lower is better)
    ("signin_rate", "full sign-in: sign-ins/s", "/s", False),
    ("signin_cpu", "full sign-in: server CPU per sign-in", "ms", True),
    ("signin_queries", "full sign-in: SQL queries", "", True),
    ("signin_cache", "full sign-in: Redis round trips", "", True),
    ("profile_cpu", "profile page: CPU per request", "ms", True),
    ("profile_queries", "profile page: SQL queries", "", True),
    ("profile_cache", "profile page: Redis round trips", "", True),
    ("profile_core_cpu", "profile page, only the peers' sections (ours only): CPU per request", "ms", True),
    ("profile_core_queries", "profile page, only the peers' sections (ours only): SQL queries", "", True),
    ("trivial_cpu", "trivial signed-in page: CPU per request", "ms", True),
    ("trivial_queries", "trivial signed-in page: SQL queries", "", True),
    ("trivial_cache", "trivial signed-in page: Redis round trips", "", True),
]
# Ours-only figures whose ratio is to another of the peers' figures: our Profile
# without the peers' missing sections against their whole page.
PEER_FIGURE = {"profile_core_cpu": "profile_cpu"}


def measure_site(server: Server, pool: UserPool, signins: int, pages: int) -> dict[str, float]:
    site = server.site
    browsers: list[Browser | None] = [None] * CONCURRENCY

    def one_sign_in(index: int) -> Browser:
        browsers[index] = sign_in(site, server.port, pool)
        return browsers[index]

    signin = measure(server, signins, one_sign_in)
    for browser in browsers:  # each client now holds its last sign-in's session
        assert browser is not None
    figures = {
        "signin_rate": signin.count / signin.seconds,
        "signin_cpu": signin.cpu * 1000 / signin.count,
        "signin_queries": signin.queries / signin.count,
        "signin_cache": signin.cache_calls / signin.count,
    }
    for name, path in (("profile", site.profile_path), ("profile_core", site.profile_core_path),
                       ("trivial", "/bench/trivial/")):
        if not path:
            continue
        phase = page_loads(server, browsers, path, pages)
        figures |= {f"{name}_cpu": phase.cpu * 1000 / phase.count, f"{name}_queries": phase.queries / phase.count,
                    f"{name}_cache": phase.cache_calls / phase.count}
    return figures


def log_one_of_each(server: Server, pool: UserPool) -> None:
    """One sign-in, profile and trivial page with X-Bench-Log: their SQL and cache calls into the site's log."""
    browser = sign_in(server.site, server.port, pool, log=True)
    for path in (server.site.profile_path, "/bench/trivial/"):
        if path:
            browser.get(path)


# --- The table -----------------------------------------------------------------

def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    digits = 0 if max(values) >= 100 else 1 if max(values) >= 10 else 2
    median = statistics.median(values)
    if min(values) == max(values):
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def median_of(results: dict[str, list[dict[str, float]]], site: str, key: str) -> float | None:
    values = [r[key] for r in results.get(site, []) if key in r]
    return statistics.median(values) if values else None


def ratio(results, key: str, peer: str, peer_key: str | None = None) -> str:
    ours, theirs = median_of(results, "ctm", key), median_of(results, peer, peer_key or key)
    if ours is None or theirs is None or theirs == 0:
        return "—"
    return f"{ours / theirs:.2f}×"


def goals(results) -> list[tuple[str, str, bool | None]]:
    def m(site: str, key: str) -> float | None:
        return median_of(results, site, key)

    def check(description: str, values: list[float | None], test: Callable[..., bool]) -> tuple[str, str, bool | None]:
        if any(v is None for v in values):
            return description, "not measured", None
        return description, "", test(*values)

    rows = [
        check("full sign-in ≤ 20 SQL queries", [m("ctm", "signin_queries")], lambda q: q <= 20),
        check("full sign-in CPU ≤ 0.9× two-factor-auth's", [m("ctm", "signin_cpu"), m("2fa", "signin_cpu")],
              lambda ours, theirs: ours <= 0.9 * theirs),
        check("profile ≤ 5 SQL queries", [m("ctm", "profile_queries")], lambda q: q <= 5),
        check("profile CPU ≤ 1.0× two-factor-auth's", [m("ctm", "profile_cpu"), m("2fa", "profile_cpu")],
              lambda ours, theirs: ours <= theirs),
        check("profile CPU ≤ 1.0× allauth's", [m("ctm", "profile_cpu"), m("allauth", "profile_cpu")],
              lambda ours, theirs: ours <= theirs),
        check("trivial page ≤ bare Django's queries + 1", [m("ctm", "trivial_queries"), m("bare", "trivial_queries")],
              lambda ours, theirs: ours <= theirs + 1),
        check("trivial page CPU ≤ 1.15× bare Django's", [m("ctm", "trivial_cpu"), m("bare", "trivial_cpu")],
              lambda ours, theirs: ours <= 1.15 * theirs),
    ]
    details = {
        0: lambda: f"{m('ctm', 'signin_queries'):.0f} queries",
        1: lambda: f"{m('ctm', 'signin_cpu') / m('2fa', 'signin_cpu'):.2f}×",
        2: lambda: f"{m('ctm', 'profile_queries'):.0f} queries",
        3: lambda: f"{m('ctm', 'profile_cpu') / m('2fa', 'profile_cpu'):.2f}×",
        4: lambda: f"{m('ctm', 'profile_cpu') / m('allauth', 'profile_cpu'):.2f}×",
        5: lambda: f"{m('ctm', 'trivial_queries'):.0f} vs {m('bare', 'trivial_queries'):.0f}",
        6: lambda: f"{m('ctm', 'trivial_cpu') / m('bare', 'trivial_cpu'):.2f}×",
    }
    return [(d, details[i]() if ok is not None else value, ok) for i, (d, value, ok) in enumerate(rows)]


def passkey_figure() -> str | None:
    """The in-process passkey check from `python -m benchmarks`, when make bench saved its output."""
    saved = BUILD_DIR / "inprocess.txt"
    if not saved.exists():
        return None
    for line in saved.read_text().splitlines():
        if line.startswith("passkey verify"):
            return line.split()[-2] if line.split()[-1] == "ms" else line
    return None


def table(results, sites: list[str], rounds: int) -> str:
    peers = [key for key in ("2fa", "allauth", "bare") if key in sites]
    head = ["figure", *(SITES[k].label for k in sites), *(f"ours / {SITES[k].label}" for k in peers)]
    lines = [
        f"Peer benchmark: {rounds} interleaved rounds, {CONCURRENCY} concurrent clients, {WORKERS} gunicorn sync "
        f"workers per site, {SIGNINS} sign-ins and {PAGES} page loads per page per round, on {os.cpu_count()} cores. "
        "Median (min–max) of the rounds; CPU is the gunicorn workers' user+system time.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for key, label, unit, _lower in FIGURES:
        cells = []
        for site in sites:
            values = [r[key] for r in results.get(site, []) if key in r]
            cells.append(f"{spread(values)} {unit}".strip() if values else "—")
        ratios = [ratio(results, key, peer, PEER_FIGURE.get(key)) for peer in peers]
        lines.append(f"| {label} | " + " | ".join(cells + ratios) + " |")
    passkey = passkey_figure()
    if "ctm" in sites:
        cells = [f"{passkey} ms wall, in-process (`python -m benchmarks`)" if passkey else
                 "see `passkey verify` in `python -m benchmarks`"] + ["—"] * (len(head) - 2)
        lines.append("| step 2 with a passkey: verification (ours only) | " + " | ".join(cells) + " |")
    lines += ["", "| goal | ours | met? |", "|---|---|---|"]
    for description, value, ok in goals(results):
        lines.append(f"| {description} | {value} | {'met' if ok else 'missed' if ok is False else '—'} |")
    return "\n".join(lines)


# --- Main ------------------------------------------------------------------------

@contextlib.contextmanager
def running(sites: list[Site]) -> Iterator[dict[str, Server]]:
    our_env = our_environment()
    peer_secret = secrets.token_urlsafe(50)
    envs = {site.key: site.env(our_env if site.key == "ctm" else {"SECRET_KEY": peer_secret}) for site in sites}
    servers: dict[str, Server] = {}
    try:
        started = time.perf_counter()
        setups = {site.key: prepare(site, envs[site.key]) for site in sites}
        for key, setup in setups.items():
            if setup.wait() != 0:
                log = (BUILD_DIR / f"peers-{key}-setup.log").read_text()
                raise RuntimeError(f"setting up {SITES[key].label} failed:\n{log[-3000:]}")
        print(f"sites migrated and seeded ({USERS} users each) in {time.perf_counter() - started:.0f} s", flush=True)
        for site in sites:
            servers[site.key] = Server(site, envs[site.key])
            servers[site.key].start()
        for server in servers.values():
            server.wait_until_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()
        if not os.environ.get("BENCH_KEEP_DATABASES"):
            for site in sites:
                with contextlib.suppress(Exception):
                    drop_database(site.database)


def main() -> int:
    if not Path(PEERS_PYTHON).exists():
        print(f"{PEERS_PYTHON} is missing: `make bench` builds the peers virtualenv.", file=sys.stderr)
        return 2
    BUILD_DIR.mkdir(exist_ok=True)
    keys = [k.strip() for k in os.environ.get("BENCH_SITES", "ctm,2fa,allauth,bare").split(",") if k.strip()]
    sites = [SITES[key] for key in keys]
    pools = {site.key: UserPool(USERS, one_per_step=site.code_field is not None) for site in sites}
    results: dict[str, list[dict[str, float]]] = {key: [] for key in keys}
    with running(sites) as servers:
        started = time.perf_counter()
        for key, server in servers.items():  # warm-up: every worker imports, connects, fills its caches
            measure_site(server, pools[key], 2 * CONCURRENCY, 4 * CONCURRENCY)
        print(f"warm-up done in {time.perf_counter() - started:.0f} s", flush=True)
        for round_number in range(ROUNDS):
            order = keys[round_number % len(keys):] + keys[:round_number % len(keys)]
            for key in order:
                figures = measure_site(servers[key], pools[key], SIGNINS, PAGES)
                results[key].append(figures)
                print(f"round {round_number + 1}/{ROUNDS} {SITES[key].label:<16} "
                      f"{figures['signin_rate']:5.1f} sign-ins/s, {figures['signin_cpu']:6.1f} ms CPU/sign-in, "
                      f"{figures['signin_queries']:4.1f} queries", flush=True)
        for key, server in servers.items():
            log_one_of_each(server, pools[key])
    output = table(results, keys, ROUNDS)
    (BUILD_DIR / "peers.md").write_text(output + "\n")
    print()
    print(output)
    print(f"\n(written to {BUILD_DIR / 'peers.md'}; one logged request of each kind per site: "
          f"{BUILD_DIR}/peers-<site>-requests.log)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
