"""HAProxy from Debian (/usr/sbin/haproxy) in the foreground, with a config of our own in a temporary folder.

Used by `make load` (TLS terminated here, with a self-signed certificate made
at run time) and by tests/test_balanced_servers.py (plain HTTP, with a
request header that pins a request to one app server, so a race can be sent
one request per server). Only the process started here is ever stopped.
"""
import csv
import io
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

HAPROXY = Path("/usr/sbin/haproxy")
TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
#: The request header that sends a request to the named app server (tests only: pinning=True).
PIN_HEADER = "X-Pin-Server"
#: The response header that names the app server that answered.
SERVER_HEADER = "X-Server"
START_TIMEOUT = 10


@dataclass(frozen=True)
class Backend:
    name: str
    port: int


def render_config(*, port: int, backends: list[Backend], folder: Path, tls_pem: Path | None = None,
                  pinning: bool = False, server_maxconn: int = 2, balance: str = "roundrobin") -> str:
    servers = "".join(f"    server {b.name} 127.0.0.1:{b.port}\n" for b in backends)
    pins = "".join(f"    use-server {b.name} if {{ req.hdr({PIN_HEADER}) -m str {b.name} }}\n"
                   for b in backends) if pinning else ""
    return Template(TEMPLATE.read_text()).substitute(
        port=port, tls=f" ssl crt {tls_pem}" if tls_pem else "", servers=servers, pinning=pins,
        balance=balance, server_maxconn=server_maxconn,
        stats_socket=folder / "haproxy.sock", pidfile=folder / "haproxy.pid",
    )


def self_signed_certificate(folder: Path, *, host: str) -> Path:
    """A throwaway key and certificate for ``host`` (an IP address or a name), as one PEM HAProxy reads."""
    key, cert, pem = folder / "tls.key", folder / "tls.crt", folder / "tls.pem"
    alt = f"IP:{host}" if host.replace(".", "").isdigit() else f"DNS:{host}"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName={alt}"],
        check=True, capture_output=True,
    )
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem


@dataclass
class HAProxy:
    """One HAProxy process of our own; ``start()`` returns once it listens."""

    port: int
    backends: list[Backend]
    folder: Path
    tls_pem: Path | None = None
    pinning: bool = False
    server_maxconn: int = 2
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def config_path(self) -> Path:
        return self.folder / "haproxy.cfg"

    @property
    def log_path(self) -> Path:
        return self.folder / "haproxy.log"

    def start(self) -> "HAProxy":
        if not HAPROXY.exists():
            raise RuntimeError(f"{HAPROXY} is missing: run `make system-deps` (Debian package haproxy).")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(
            port=self.port, backends=self.backends, folder=self.folder, tls_pem=self.tls_pem,
            pinning=self.pinning, server_maxconn=self.server_maxconn))
        check = subprocess.run([str(HAPROXY), "-c", "-q", "-f", str(self.config_path)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its config:\n{check.stdout}{check.stderr}")
        with self.log_path.open("wb") as log:
            # -db: stay in the foreground; its own session, so a stop reaches it alone.
            self.process = subprocess.Popen([str(HAPROXY), "-db", "-f", str(self.config_path)],
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"haproxy did not start in {START_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def server_states(self) -> dict[str, str]:
        """Each app server's state as HAProxy's health checks see it ("UP", "DOWN", ...), from its stats socket."""
        with socket.socket(socket.AF_UNIX) as stats:
            stats.settimeout(2)
            stats.connect(str(self.folder / "haproxy.sock"))
            stats.sendall(b"show stat\n")
            raw = b""
            while chunk := stats.recv(65536):
                raw += chunk
        rows = csv.DictReader(io.StringIO(raw.decode().lstrip("# ")))
        return {row["svname"]: row["status"] for row in rows
                if row["pxname"] == "app" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_until(self, name: str, state: str, *, timeout: float = 10) -> float:
        """Wait until server ``name`` is in ``state``; return the seconds it took."""
        started = time.monotonic()
        while self.server_states().get(name, "").split(" ")[0] != state:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{name} not {state} after {timeout} s: {self.server_states()}")
            time.sleep(0.1)
        return time.monotonic() - started


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
