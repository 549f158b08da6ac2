"""`make load`: scale-out under load, on loopback, as production runs it.

What runs (every process started here is stopped on exit, on Ctrl-C and on errors):

* a fresh PostgreSQL database (LOAD_DATABASE_URL, default load_ctm), migrated
  and seeded with agency administrators who use Google Authenticator
  (benchmarks/load/seed.py); Redis database 8 (LOAD_REDIS_URL), flushed;
* two gunicorn app servers (ctm_auth.settings.production, LOAD_WORKERS sync
  workers each) and the outbox worker (`manage.py outbox_worker`);
* HAProxy from Debian in front, terminating TLS with a self-signed
  certificate made now (openssl): the app sees what it sees in production,
  HTTPS with X-Forwarded-Proto and X-Forwarded-For set by its one proxy, and
  the clients keep __Host-/Secure cookies as browsers do. Health checks on
  /readyz take a dead app server out of the rotation;
* Locust, headless, from its own virtualenv (.bench/load-venv, built on first
  use), LOAD_USERS people (50) for LOAD_SECONDS (60) a run: normal, then
  normal plus one client hammering wrong codes, LOAD_HAMMER_PAIRS times (2)
  in turn; then normal with one app server killed (SIGKILL, master and
  workers) half-way. The hammer's effect is the p95 of the hammer runs
  against the normal ones, pooled: on a shared machine one pair alone moves
  by more than the 10 % the goal allows.

The figures are printed and written to .bench/load.md.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.load.haproxy import Backend, HAProxy, self_signed_certificate
from benchmarks.load.report import Run, hammer_ratio_line, markdown

PROJECT = Path(__file__).resolve().parents[2]
BENCH = PROJECT / ".bench"
RUN_DIR = BENCH / "load-run"
LOAD_VENV = BENCH / "load-venv"
REPORT = BENCH / "load.md"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
HAMMER_PAIRS = int(os.environ.get("LOAD_HAMMER_PAIRS", "2"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "2"))
ACCOUNTS_PER_USER = int(os.environ.get("LOAD_ACCOUNTS_PER_USER", "8"))
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/load_ctm")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/8")
START_TIMEOUT = 30


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Processes:
    """Every process this run started, each in a session of its own; stop_all() ends them, and nothing else."""

    def __init__(self):
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path = PROJECT) -> subprocess.Popen:
        with (RUN_DIR / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children (its process group): a crash, not a shutdown."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.running.clear()


def production_env(static_root: Path, balancer_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    return env | {
        "DJANGO_SETTINGS_MODULE": "ctm_auth.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": HOST,
        # Required in production; passkeys are not part of this load (an IP address cannot be an RP id).
        "WEBAUTHN_RP_ID": "localhost",
        "WEBAUTHN_ORIGINS": f"https://localhost:{balancer_port}",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        # The outbox worker drains the table (no Celery broker in this set-up).
        "DELIVERY_QUEUE": "poll",
        "TRUSTED_PROXY_COUNT": "1",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
    }


def step(message: str) -> None:
    print(f"[load] {message}", flush=True)


def ensure_locust() -> Path:
    locust = LOAD_VENV / "bin" / "locust"
    if not locust.exists():
        step(f"building {LOAD_VENV.relative_to(PROJECT)} (Locust; once)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LOAD_VENV)], check=True)
        subprocess.run([str(LOAD_VENV / "bin" / "pip"), "install", "-q", "locust"], check=True)
    return locust


def fresh_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    if not name.startswith("load_"):
        raise SystemExit(f"LOAD_DATABASE_URL must name a load_* database (it is dropped): {name}")
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def wait_healthy(port: int, process: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start; see {RUN_DIR / (name + '.log')}")
        time.sleep(0.2)


@dataclass
class Stack:
    processes: Processes
    balancer: HAProxy
    env: dict[str, str]
    ca: Path
    accounts: Path
    locust: Path


def start_stack(processes: Processes) -> Stack:
    locust = ensure_locust()
    balancer_port = free_port()
    static_root = RUN_DIR / "static"
    env = production_env(static_root, balancer_port)
    pem = self_signed_certificate(RUN_DIR, host=HOST)
    step(f"fresh database {DATABASE_URL.rsplit('/', 1)[1]}, Redis {REDIS_URL}: migrate, collectstatic, seed")
    fresh_database()
    flush_redis()
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", env=env)
    accounts = RUN_DIR / "accounts.json"
    subprocess.run([sys.executable, "-m", "benchmarks.load.seed", str(accounts), str(USERS * ACCOUNTS_PER_USER)],
                   cwd=PROJECT, env=env, check=True)
    step(f"starting 2 gunicorn servers ({WORKERS} sync workers each), the outbox worker, HAProxy")
    processes.start("outbox_worker", [sys.executable, "manage.py", "outbox_worker"], env=env)
    backends = []
    for name in ("app1", "app2"):
        port = free_port()
        server = processes.start(name, [
            str(BIN / "gunicorn"), "ctm_auth.wsgi:application", "--bind", f"{HOST}:{port}",
            "--workers", str(WORKERS), "--timeout", "30", "--graceful-timeout", "5", "--no-control-socket",
        ], env=env)
        backends.append((Backend(name, port), server))
    for backend, server in backends:
        wait_healthy(backend.port, server, backend.name)
    balancer = HAProxy(port=balancer_port, backends=[b for b, _s in backends], folder=RUN_DIR / "haproxy",
                       tls_pem=pem, server_maxconn=WORKERS)
    balancer.start()
    processes.running["haproxy"] = balancer.process  # stopped with the rest
    for backend, _server in backends:
        balancer.wait_until(backend.name, "UP")
    return Stack(processes, balancer, env, pem, accounts, locust)


def run_locust(stack: Stack, name: str, *, hammer: bool = False, kill_half_way: str = "") -> Run:
    users = USERS + (1 if hammer else 0)
    classes = ["SignInUser", *(["WrongCodeHammer"] if hammer else [])]
    step(f"run '{name}': {USERS} people{' + 1 wrong-code hammer' if hammer else ''} for {SECONDS} s"
         + (f", {kill_half_way} killed at {SECONDS // 2} s" if kill_half_way else ""))
    results, csv_prefix = RUN_DIR / f"{name}.json", RUN_DIR / name
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")} | {
        "LOAD_ACCOUNTS": str(stack.accounts), "LOAD_STATE": str(RUN_DIR / "totp-steps.json"),
        "LOAD_RESULTS": str(results), "LOAD_CA": str(stack.ca), "LOAD_ACCOUNTS_PER_USER": str(ACCOUNTS_PER_USER),
    }
    spawn_rate = max(1, USERS // 5)  # everyone in within the first 5 s
    process = stack.processes.start(f"locust-{name}", [
        str(stack.locust), "-f", str(LOCUSTFILE), "--headless", "--only-summary", "--loglevel", "WARNING",
        "-u", str(users), "-r", str(spawn_rate), "-t", f"{SECONDS}s", "--host", f"https://{HOST}:{stack.balancer.port}",
        "--csv", str(csv_prefix), *classes,
    ], env=env)
    started = time.time()
    kill_at, notes = None, []
    if kill_half_way:
        time.sleep(SECONDS / 2)
        kill_at = time.time()  # the signal's moment: a request started just after may still reach a dying worker
        stack.processes.kill(kill_half_way)
        detected = stack.balancer.wait_until(kill_half_way, "DOWN", timeout=15)
        notes.append(f"{kill_half_way} killed (SIGKILL, master and workers) at {kill_at - started:.1f} s; "
                     f"HAProxy's health check marked it DOWN {detected:.1f} s later")
    process.wait(SECONDS + 60)
    stack.processes.running.pop(f"locust-{name}", None)
    if not results.exists():
        raise RuntimeError(f"Locust wrote no results; see {RUN_DIR / f'locust-{name}.log'}")
    run = Run.load(name, SECONDS, results, Path(f"{csv_prefix}_failures.csv"))
    run.kill_at, run.notes = kill_at, notes
    if kill_half_way:
        run.notes.append("HAProxy's view after the run: " + json.dumps(stack.balancer.server_states()))
    for line in run.lines():
        print(f"    {line}", flush=True)
    return run


def main() -> int:
    def stop(signum, _frame):
        print(f"[load] {signal.Signals(signum).name}: stopping every process this run started", flush=True)
        raise SystemExit(128 + signum)

    # Ctrl-C too, explicitly: a shell that starts us in the background ignores SIGINT for us otherwise.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    processes = Processes()
    began = time.monotonic()
    try:
        stack = start_stack(processes)
        runs = []
        for pair in range(1, HAMMER_PAIRS + 1):
            suffix = f"-{pair}" if HAMMER_PAIRS > 1 else ""
            runs += [run_locust(stack, f"normal{suffix}"), run_locust(stack, f"hammer{suffix}", hammer=True)]
        runs.append(run_locust(stack, "kill", kill_half_way="app1"))
    finally:
        processes.stop_all()
    header = [
        f"{USERS} people for {SECONDS} s per run; 2 gunicorn servers × {WORKERS} sync workers "
        f"(ctm_auth.settings.production) + outbox worker, behind HAProxy (TLS terminated there, "
        f"health checks on /readyz); PostgreSQL + Redis on loopback; {os.cpu_count()} cores shared with the client.",
        "Each person: sign in (password, then the authenticator's code), Profile, Manage Users, sign out; "
        "0.3–1 s on each page, 1–2 s between rounds. Latencies are the people's requests only.",
        f"Logs: {RUN_DIR.relative_to(PROJECT)}/. Total time {time.monotonic() - began:.0f} s.",
    ]
    REPORT.write_text(markdown(runs, header))
    if line := hammer_ratio_line(runs):
        print(line)
    print(f"Report: {REPORT.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
