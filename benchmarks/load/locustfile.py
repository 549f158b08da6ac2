"""The load: people signing in with Google Authenticator, looking around, signing out.

Run by benchmarks/load/__main__.py with .bench/load-venv's Locust (nothing of
the product is imported here). Read from the environment:

* LOAD_ACCOUNTS: the seeded accounts (benchmarks/load/seed.py), JSON;
* LOAD_STATE: JSON kept between runs: the last time-step each account used;
* LOAD_RESULTS: where this run's samples are written when it stops;
* LOAD_CA: the balancer's self-signed certificate, trusted as the only CA.

Each simulated person (SignInUser) is a browser of its own, with its own
source address on loopback (127.0.1.x: HAProxy appends it to X-Forwarded-For,
as it would a real client's) and its own accounts. A code is accepted once
per time-step and account (replay protection), so a person signs in with an
account whose current step is still unused, and waits for the next step if
none is. WrongCodeHammer is one more client that posts wrong codes for an
account of its own as fast as it is answered.
"""
import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import struct
import time

import gevent
from locust import HttpUser, between, constant, events, task
from requests.adapters import HTTPAdapter

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"
LOGOUT = "/account/logout/"
HAMMER = "hammer"
STEP = 30
#: Seconds a person spends on a page before the next click.
THINK = between(0.3, 1.0)

SEED = json.loads(open(os.environ["LOAD_ACCOUNTS"]).read())
PASSWORD = SEED["password"]
PEOPLE_ACCOUNTS = [a for a in SEED["accounts"] if a["role"] == "person"]
HAMMER_ACCOUNTS = [a for a in SEED["accounts"] if a["role"] == HAMMER]
ACCOUNTS_PER_PERSON = int(os.environ.get("LOAD_ACCOUNTS_PER_USER", "8"))
_state_path = os.environ.get("LOAD_STATE", "")
LAST_STEP: dict[str, int] = json.loads(open(_state_path).read()) if os.path.exists(_state_path) else {}
SAMPLES: list[list] = []
SIGN_INS: list[float] = []
_slots = itertools.count()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def totp(secret: str, at: float) -> str:
    """RFC 6238 with the app's parameters (SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(at // STEP)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def source_address(slot: int) -> str:
    """Person ``slot``'s own loopback address: 127.1.0.1, 127.1.0.2, ..."""
    return f"127.1.{slot // 250}.{1 + slot % 250}"


#: The hammer's own address, so its failures count against no person's.
HAMMER_ADDRESS = "127.2.0.1"


class FromAddress(HTTPAdapter):
    """Connections from one loopback address, so the balancer sees each person as their own client."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@events.request.add_listener
def _keep_sample(request_type, name, response_time, response, exception, start_time=None, **_kwargs):
    status = getattr(response, "status_code", 0) or 0
    server = response.headers.get("X-Server", "") if response is not None and status else ""
    SAMPLES.append([start_time or time.time(), name, response_time, status, exception is not None, server])


@events.test_stop.add_listener
def _write_results(**_kwargs):
    with open(os.environ["LOAD_RESULTS"], "w") as out:
        json.dump({"samples": SAMPLES, "sign_ins": SIGN_INS}, out)
    if _state_path:
        with open(_state_path, "w") as out:
            json.dump(LAST_STEP, out)


class Browser(HttpUser):
    abstract = True

    address = ""

    def on_start(self):
        self.client.mount("https://", FromAddress(self.address))
        self.client.verify = os.environ["LOAD_CA"]
        self.client.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0 (load)"

    def page(self, path: str, name: str | None = None, expect: int = 200, contains: str = ""):
        """GET a page as a click would; return its CSRF token (or "")."""
        with self.client.get(path, name=name or path, allow_redirects=False, catch_response=True) as response:
            if response.status_code != expect or (contains and contains not in response.text):
                response.failure(f"GET {path}: {response.status_code} {getattr(response, 'error', '') or ''}")
                return None
            match = _CSRF.search(response.text)
            return match.group(1) if match else ""

    def post(self, path: str, name: str, data: dict, *, expect: int, location: str = "", contains: str = ""):
        """POST a form as the browser does (Origin set); return the response when it is what was expected."""
        origin = self.host.rstrip("/")
        with self.client.post(path, data=data, name=name, allow_redirects=False, catch_response=True,
                              headers={"Origin": origin, "Referer": f"{origin}{path}"}) as response:
            ok = response.status_code == expect and (not location or response.headers.get("Location") == location)
            if not ok or (contains and contains not in response.text):
                response.failure(f"POST {path}: {response.status_code} {response.headers.get('Location', '')} "
                                 f"{getattr(response, 'error', '') or ''}")
                return None
            response.success()
            return response


class SignInUser(Browser):
    """Sign in (password, then the authenticator's code), Profile, Manage Users, sign out; again."""

    wait_time = between(1, 2)

    def on_start(self):
        self.slot = next(_slots)
        self.address = source_address(self.slot)
        super().on_start()
        first = self.slot * ACCOUNTS_PER_PERSON
        self.accounts = PEOPLE_ACCOUNTS[first:first + ACCOUNTS_PER_PERSON]
        if len(self.accounts) < ACCOUNTS_PER_PERSON:
            raise RuntimeError(f"too few seeded accounts for user {self.slot}")

    def free_account(self) -> dict:
        """The least recently used account whose current time-step is unused; waits for the next step if none."""
        while True:
            now_step = int(time.time() // STEP)
            account = min(self.accounts, key=lambda a: LAST_STEP.get(a["email"], -1))
            if LAST_STEP.get(account["email"], -1) < now_step:
                return account
            gevent.sleep(STEP - time.time() % STEP + 0.05)

    @task
    def sign_in_look_around_sign_out(self):
        account = self.free_account()
        # A round cut short (a failed request) may have left this browser signed in: it starts afresh,
        # as a person would by closing it, so one failure is not counted again on every later page.
        self.client.cookies.clear()
        token = self.page(LOGIN)
        if token is None:
            return
        gevent.sleep(THINK(self))
        if not self.post(LOGIN, "POST /account/login/ (password)", expect=302, location=VERIFY,
                         data={"csrfmiddlewaretoken": token, "email": account["email"], "password": PASSWORD}):
            return
        token = self.page(VERIFY)
        if token is None:
            return
        gevent.sleep(THINK(self))
        now = time.time()
        LAST_STEP[account["email"]] = int(now // STEP)
        if not self.post(VERIFY, "POST /account/login/verify/ (TOTP)", expect=302, location=PROFILE,
                         data={"csrfmiddlewaretoken": token, "code": totp(account["secret"], now)}):
            return
        SIGN_INS.append(time.time())
        if self.page(PROFILE, contains=account["name"]) is None:
            return
        gevent.sleep(THINK(self))
        token = self.page(f"/settings/{account['agency_id']}/users/", name="GET /settings/[agency]/users/")
        if not token:
            return
        gevent.sleep(THINK(self))
        self.post(LOGOUT, "POST /account/logout/", expect=302, location=LOGIN, data={"csrfmiddlewaretoken": token})


class WrongCodeHammer(Browser):
    """One client posting wrong codes at step 2 for its own account, without a pause."""

    fixed_count = 1
    wait_time = constant(0)
    address = HAMMER_ADDRESS

    def on_start(self):
        super().on_start()
        self.account = HAMMER_ACCOUNTS[0]
        self.token = None

    def half_sign_in(self) -> None:
        token = self.page(LOGIN, name="hammer: GET /account/login/")
        if token and self.post(LOGIN, "hammer: POST /account/login/", expect=302, location=VERIFY,
                               data={"csrfmiddlewaretoken": token, "email": self.account["email"],
                                     "password": PASSWORD}):
            self.token = self.page(VERIFY, name="hammer: GET /account/login/verify/")

    @task
    def wrong_code(self):
        if not self.token:
            self.half_sign_in()
            return
        now = time.time()
        window = {totp(self.account["secret"], now + d * STEP) for d in (-2, -1, 0, 1, 2)}
        wrong = next(c for c in ("000000", "111111", "222222") if c not in window)
        origin = self.host.rstrip("/")
        with self.client.post(VERIFY, data={"csrfmiddlewaretoken": self.token, "code": wrong},
                              name="hammer: POST /account/login/verify/ (wrong code)", allow_redirects=False,
                              catch_response=True, headers={"Origin": origin, "Referer": f"{origin}{VERIFY}"}) as response:
            if response.status_code == 429:
                # The balancer's tarpit: an attacker keeps going, and so does this client.
                response.success()
            elif response.status_code != 200:
                response.failure(f"POST {VERIFY}: {response.status_code}")
                self.token = None  # the half-done sign-in ended: start again
