"""A small fake of Twilio's Messages API, served on 127.0.0.1 by a thread.

It speaks just enough of the real API for the twilio SDK to use it unchanged:
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth
and form fields, answered with Twilio-shaped JSON (201 with a Message
resource, or an error body ``{"code", "message", "more_info", "status"}``).

A test scripts the next answer: ``fail_next(21211)``, ``fail_next_status(429)``,
``hold_next()`` (an answer that never comes in time, for timeouts). Every
request is recorded with its form fields, so tests assert exactly what was sent.
"""
import base64
import json
import secrets
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"

# What Twilio says for the errors the app must handle (wording as in Twilio's docs).
TWILIO_ERRORS = {
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21614: (400, "'To' number {to} is not a valid mobile number"),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}."),
    20429: (429, "Too Many Requests"),
    20003: (401, "Authenticate"),
    21604: (400, "A 'To' phone number is required."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' or 'MessagingServiceSid' parameter is required to send a message."),
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    form: dict  # field -> value (each field sent once)
    auth: tuple[str, str] | None
    status: int | None = None  # what the fake answered (201: Twilio accepted the text); None while held


@dataclass
class _Scripted:
    status: int = 201
    code: int | None = None
    message: str = ""
    hold: bool = False  # do not answer until released


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[RecordedRequest] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting ---------------------------------------------------------
    def fail_next(self, code: int, *, status: int | None = None) -> None:
        """Answer the next request with Twilio error ``code`` (its usual HTTP status)."""
        default_status, message = TWILIO_ERRORS.get(code, (400, "Error"))
        self.script.append(_Scripted(status=status or default_status, code=code, message=message))

    def fail_next_status(self, status: int) -> None:
        """Answer the next request with a bare HTTP error (429, 500, 503 ...)."""
        codes = {429: 20429, 500: 20500, 503: 20503}
        self.script.append(_Scripted(status=status, code=codes.get(status, status),
                                     message="Too Many Requests" if status == 429 else "Internal Server Error"))

    def hold_next(self) -> None:
        """Keep the next request waiting (until reset), so the client's timeout fires."""
        self.script.append(_Scripted(hold=True))

    def reset(self) -> None:
        self.release.set()  # let any held request finish
        self.requests.clear()
        self.script.clear()
        self.release = threading.Event()

    @property
    def messages(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/Messages.json")]

    @property
    def accepted(self) -> list[RecordedRequest]:
        """The texts Twilio would have delivered: answered 201."""
        return [r for r in self.messages if r.status == 201]


def _handler(fake: FakeTwilio):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}
            auth = self._basic_auth()
            self.recorded = RecordedRequest("POST", self.path, dict(self.headers), form, auth)
            fake.requests.append(self.recorded)
            if self.path != MESSAGES_PATH.format(sid=fake.account_sid):
                return self._error(404, 20404, f"The requested resource {self.path} was not found")
            if auth != (fake.account_sid, fake.auth_token):
                return self._error(401, 20003, TWILIO_ERRORS[20003][1])
            scripted = fake.script.popleft() if fake.script else _Scripted()
            if scripted.hold:
                fake.release.wait(30)
                return self._error(503, 20503, "Held by the test")
            if scripted.code is not None:
                return self._error(scripted.status, scripted.code, scripted.message.format(to=form.get("To", "")))
            missing = self._missing(form)
            if missing:
                return self._error(400, missing, TWILIO_ERRORS[missing][1])
            self._json(201, self._message(form))

        def _basic_auth(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password

        @staticmethod
        def _missing(form: dict) -> int | None:
            if not form.get("To"):
                return 21604
            if not form.get("Body"):
                return 21602
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return 21603
            return None

        def _message(self, form: dict) -> dict:
            sid = "SM" + secrets.token_hex(16)
            now = formatdate(usegmt=True)
            return {
                "account_sid": fake.account_sid, "api_version": "2010-04-01", "body": form["Body"],
                "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
                "error_code": None, "error_message": None, "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
                "price": None, "price_unit": "USD", "sid": sid, "status": "queued", "to": form["To"],
                "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                "subresource_uris": {"media": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}/Media.json"},
            }

        def _error(self, status: int, code: int, message: str) -> None:
            self._json(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                "status": status})

        def _json(self, status: int, payload: dict) -> None:
            self.recorded.status = status
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that timed out on purpose (the timeout tests) hangs up before we answer."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def start_fake_twilio() -> FakeTwilio:
    """Start the fake on a free port of 127.0.0.1; call ``stop_fake_twilio`` when done."""
    fake = FakeTwilio(account_sid="AC" + secrets.token_hex(16), auth_token=secrets.token_hex(16))
    fake.server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.server.daemon_threads = True
    threading.Thread(target=fake.server.serve_forever, name="fake-twilio", daemon=True).start()
    return fake


def stop_fake_twilio(fake: FakeTwilio) -> None:
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()
