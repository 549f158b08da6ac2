"""Fixtures for the outbox tests: a real SMTP server on loopback, and the worker's side of the queue."""
import contextlib
import email
import email.policy
import socket

import pytest

from accounts.models import Delivery
from tests.servers import ReceivedMail, SMTPServer, wait_for_port

ANSWERING_SERVER_TIMEOUT = 2.0
HANGING_SERVER_TIMEOUT = 0.5


@pytest.fixture
def smtp(settings):
    """A real SMTP server (tests/servers.py) that Django's mail backend sends to; down to start with.

    EMAIL_TIMEOUT is 2 s, which an answering server never needs even on a
    loaded machine; a test that makes it hang shortens it (hang() below).
    """
    server = SMTPServer()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    settings.EMAIL_TIMEOUT = ANSWERING_SERVER_TIMEOUT
    try:
        yield server
    finally:
        stop(server)


def hang(server: SMTPServer, settings) -> SMTPServer:
    """Make ``server`` hang, with a client timeout so short that waiting it out costs half a second.

    Only a hanging server gets it: with 0.5 s for every server, a loaded
    machine turned an answer that came late into a "timeout" (as it did for
    Twilio's fake, tests/mfa/sms/test_send_failures.py).
    """
    settings.EMAIL_TIMEOUT = HANGING_SERVER_TIMEOUT
    return server.hang()


@pytest.fixture
def poll_queue(settings):
    """The web side only writes rows, as production's web process does; the test drains like a worker."""
    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"


def stop(server: SMTPServer) -> None:
    """Stop ``server`` so that its port is free again, even from hang().

    SMTPServer.down() closes hang()'s listener while its thread is blocked in
    accept(), which keeps the port listening; one connection wakes the
    thread, which then finds the listener closed and ends.
    """
    hanging = server.mode == "hang"
    server.down()
    if hanging:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
            pass
        wait_for_port(server.port, up=False)
        server.down()  # the connection that woke the thread


def accept_again(server: SMTPServer) -> None:
    """Make ``server`` a working mail server again, whatever fault it was in."""
    if server.mode == "hang":
        stop(server)
    server.accept()


def latest_pk() -> int:
    """Return the newest outbox row's id (0 if none): rows written after it are the action's."""
    return Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def rows_since(pk: int) -> list[Delivery]:
    return list(Delivery.objects.filter(pk__gt=pk).order_by("pk"))


def headers(received: ReceivedMail) -> tuple[str, str]:
    """Return the To and Subject of a mail as the SMTP server received it."""
    message = email.message_from_string(received.content, policy=email.policy.default)
    return str(message["To"]), str(message["Subject"])
