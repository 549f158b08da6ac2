"""Real servers on loopback for the fault tests: our own Redis and an SMTP server.

Each fault test starts its own server on a spare port and stops only that
one, so the suite's shared PostgreSQL and Redis are never touched.
"""
import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, up: bool = True, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            listening = probe.connect_ex(("127.0.0.1", port)) == 0
        if listening == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not come {'up' if up else 'down'} in {timeout} s")


class RedisServer:
    """A redis-server of our own (no persistence) on a spare port; start, stop, restart."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="ctm-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop this server (and only this one); what it held is gone, as after a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
            wait_for_port(self.port, up=False)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    content: str


class _Handler:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options):  # noqa: N802
        if self.server.mode == "refuse":
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.server.mode == "tempfail":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope):  # noqa: N802
        content = envelope.content.decode("utf-8", "replace") if isinstance(envelope.content, bytes) else envelope.content
        self.server.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    """An SMTP server on one spare port whose behaviour a test switches.

    ``accept()``: a real SMTP server (aiosmtpd) that keeps what it receives;
    ``refuse()``: the same server answering 550 to every recipient;
    ``tempfail()``: 451 to every recipient; ``hang()``: a listener that accepts
    connections and never greets; ``down()``: nothing listens on the port.
    """

    port: int = field(default_factory=free_port)
    mode: str = "down"
    received: list[ReceivedMail] = field(default_factory=list)
    _controller: Controller | None = None
    _hang_socket: socket.socket | None = None
    _held: list[socket.socket] = field(default_factory=list)

    def accept(self) -> "SMTPServer":
        return self._serve("accept")

    def refuse(self) -> "SMTPServer":
        return self._serve("refuse")

    def tempfail(self) -> "SMTPServer":
        return self._serve("tempfail")

    def _serve(self, mode: str) -> "SMTPServer":
        if self._controller is None:
            self.down()
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()
        self.mode = mode
        return self

    def hang(self) -> "SMTPServer":
        self.down()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._hang_socket = listener

        def hold() -> None:
            while True:
                try:
                    connection, _address = listener.accept()
                except OSError:
                    return
                self._held.append(connection)  # never answered: the client's timeout must fire

        threading.Thread(target=hold, name="smtp-hang", daemon=True).start()
        self.mode = "hang"
        return self

    def down(self) -> "SMTPServer":
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._hang_socket is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would
            # leave it holding the port, and the next accept() could not bind.
            with contextlib.suppress(OSError):
                self._hang_socket.shutdown(socket.SHUT_RDWR)
            self._hang_socket.close()
            self._hang_socket = None
        for connection in self._held:
            connection.close()
        self._held.clear()
        self.mode = "down"
        return self

    def settings(self) -> dict:
        """Django settings that send mail to this server."""
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": self.port, "EMAIL_USE_TLS": False, "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}
