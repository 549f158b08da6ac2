"""Two app servers behind a real load balancer: one-time codes stay one-time across servers.

Two gunicorn servers (production settings) share this run's PostgreSQL test
database and one Redis, behind HAProxy from Debian (benchmarks/load/haproxy.py,
the balancer `make load` runs). HAProxy names the server that answered
(X-Server), and for these tests a request header pins a request to one
server, so each race sends one request through the balancer to each server,
released together by a barrier. Exactly one of the two may sign in.

HAProxy is installed by `make system-deps`; without it these tests fail.
"""
import contextlib
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.conf import settings

from accounts import audit
from accounts.models import AuditEvent
from benchmarks.load.haproxy import PIN_HEADER, SERVER_HEADER, Backend, HAProxy
from mfa.totp import flows as totp_flows
from mfa.totp import otp
from mfa.totp.models import TOTPDevice
from tests import test_production_server
from tests.concurrency import run_concurrently
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.totp.conftest import flow_request
from tests.servers import free_port
from tests.test_production_server import LOGIN, Client, Gunicorn, Response, server_env

# The single-server tests' fixtures: collected static files, our own Redis, this run's test database.
static_root = test_production_server.static_root
redis_server = test_production_server.redis_server
test_database = test_production_server.test_database

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"
SERVERS = ("app1", "app2")


@dataclass
class Balanced:
    balancer: HAProxy
    servers: dict[str, Gunicorn]

    def client(self) -> Client:
        return Client(self.balancer.port)


@contextlib.contextmanager
def started(servers: list[Gunicorn]) -> Iterator[list[Gunicorn]]:
    """Start the servers side by side (each start waits for its health check); stop them all afterwards.

    Side by side both ways: each waits for its health check, then for its
    workers' graceful exit. Each stops only its own process group.
    """
    with ThreadPoolExecutor(len(servers)) as pool:
        try:
            list(pool.map(Gunicorn.start, servers))
            yield servers
        finally:
            list(pool.map(Gunicorn.stop, servers))


@pytest.fixture(scope="module")
def balanced(test_database, static_root, redis_server, tmp_path_factory) -> Iterator[Balanced]:
    # Backup codes are looked up by an HMAC keyed with SECRET_KEY: the servers need this process's.
    env = server_env(static_root, database_url=test_database, redis_url=redis_server.url) | {
        "SECRET_KEY": settings.SECRET_KEY}
    logs = tmp_path_factory.mktemp("gunicorn")
    with started([Gunicorn(env, logs) for _name in SERVERS]) as servers:
        backends = [Backend(name, server.port) for name, server in zip(SERVERS, servers, strict=True)]
        balancer = HAProxy(port=free_port(), folder=tmp_path_factory.mktemp("haproxy"), backends=backends,
                           pinning=True)
        try:
            balancer.start()
            for name in SERVERS:
                balancer.wait_until(name, "UP")
            yield Balanced(balancer, dict(zip(SERVERS, servers, strict=True)))
        finally:
            balancer.stop()


def enrol_totp(user) -> TOTPDevice:
    """Set up Google Authenticator through the flows, confirmed with the previous time-step's code.

    The servers read the real clock, so the test cannot move time: confirming
    with the step before leaves the current one unused, for the sign-in.
    """
    pending = totp_flows.start_enrolment(flow_request(user), user=user)
    code = otp.generate(pending.secret, at=time.time() - pending.step, digits=pending.digits, step=pending.step)
    outcome = totp_flows.confirm_enrolment(flow_request(user), user=user, setup_id=pending.setup_id, code=code)
    assert outcome.ok, outcome
    return outcome.device


def current_code(device: TOTPDevice) -> str:
    return otp.generate(device.secret, at=time.time(), digits=device.digits, step=device.step)


def half_signed_in(balanced: Balanced, user, password: str) -> Client:
    """A browser that passed the password step through the balancer (whichever server it reached)."""
    browser = balanced.client()
    response = browser.submit(LOGIN, {"email": user.email, "password": password})
    assert response.status == 302 and response.headers["Location"] == VERIFY, response.text
    return browser


def csrf_token(browser: Client, path: str, server: str) -> str:
    page = browser.get(path, headers={PIN_HEADER: server})
    assert page.status == 200 and page.headers[SERVER_HEADER] == server, page.text
    return page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]


def post_at_once_one_per_server(browsers: list[Client], path: str, data: dict[str, str]) -> list[Response]:
    """The same form posted by each browser at the same instant, browser i through the balancer to server i."""
    tokens = [csrf_token(browser, path, server) for browser, server in zip(browsers, SERVERS, strict=True)]
    responses = run_concurrently(lambda i: browsers[i].request(
        "POST", path, form={"csrfmiddlewaretoken": tokens[i], **data}, headers={PIN_HEADER: SERVERS[i]}))
    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert [r.headers[SERVER_HEADER] for r in responses] == list(SERVERS)
    return responses


def winner_and_loser(responses: list[Response]) -> tuple[int, int]:
    signed_in = [i for i, r in enumerate(responses) if r.status == 302]
    assert len(signed_in) == 1, [(r.status, r.headers.get("Location"), re.findall(r'role="alert">([^<]+)', r.text))
                                 for r in responses]
    return signed_in[0], 1 - signed_in[0]


def assert_exactly_one_signed_in(browsers: list[Client], responses: list[Response], user, *, refusal: str) -> None:
    """One browser reached the Profile; the other was shown ``refusal`` and is signed in as no one."""
    winner, loser = winner_and_loser(responses)
    assert responses[winner].headers["Location"] == PROFILE
    assert responses[loser].status == 200
    assert refusal in responses[loser].text
    profile = browsers[winner].get(PROFILE)
    refused = browsers[loser].get(PROFILE)
    assert profile.status == 200 and user.name in profile.text
    assert refused.status == 302 and refused.headers["Location"].startswith(LOGIN)
    assert AuditEvent.objects.filter(event_type=audit.SIGN_IN_SUCCEEDED, actor=user).count() == 1


def test_one_totp_code_sent_at_once_to_both_servers_signs_in_exactly_once(balanced, make_user, password):
    user = make_user("twice@example.test", name="Tess Twice")
    device = enrol_totp(user)
    browsers = [half_signed_in(balanced, user, password) for _server in SERVERS]

    responses = post_at_once_one_per_server(browsers, VERIFY, {"code": current_code(device)})

    assert_exactly_one_signed_in(browsers, responses, user, refusal="That code was already used.")
    failure = AuditEvent.objects.get(event_type=totp_flows.TOTP_VERIFICATION_FAILED, target_user=user)
    assert failure.data["error"] == "code_reused"


def test_one_backup_code_sent_at_once_to_both_servers_signs_in_exactly_once(balanced, make_user, password):
    user = make_user("backup@example.test", name="Bea Backup")
    enrol_totp(user)  # backup codes are a fallback: a primary method first
    codes = set_up_codes(user)
    browsers = [half_signed_in(balanced, user, password) for _server in SERVERS]

    responses = post_at_once_one_per_server(browsers, f"{VERIFY}?method=backup_codes",
                                            {"method": "backup_codes", "code": codes[0]})

    assert_exactly_one_signed_in(browsers, responses, user, refusal="That backup code has already been used.")
