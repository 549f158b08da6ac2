"""Shared fixtures. Test data is built through the product's own flows."""
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from accounts.models import User
from agencies.flows import add_member, add_subaccount, create_agency
from agencies.models import Role
from ctm_auth import clock as project_clock
from mfa.app_settings import app_settings as mfa_settings
from tests.fake_method.models import FakeDevice
from tests.fake_twilio import start_fake_twilio, stop_fake_twilio
from tests.servers import RedisServer

PASSWORD = "correct horse battery staple 42"
FAKE_CODE = "424242"


@pytest.fixture(autouse=True)
def _fresh_cache_and_clock():
    """Rate limits live in the cache, and the clock may be moved: reset both."""
    cache.clear()
    project_clock.reset()
    yield
    project_clock.reset()


@pytest.fixture(autouse=True)
def _postgres_only_tests_fail_elsewhere(request):
    """A race test must never pass vacuously on SQLite: fail it there, never skip."""
    if request.node.get_closest_marker("needs_postgres") and connection.vendor != "postgresql":
        pytest.fail("needs_postgres tests run in the PostgreSQL pass of `make test`, never on SQLite.")


@pytest.fixture
def clock():
    """The project clock (ctm_auth.clock); ``clock.advance(seconds)`` moves time."""
    return project_clock


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 100000))

    def make(email: str | None = None, *, name: str = "Test User", password: str = PASSWORD) -> User:
        return User.objects.create_user(email or f"user{next(counter)}@example.test", password, name=name)

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user("user@example.test", name="Ursula User")


def add_fake_device(user: User, code: str = FAKE_CODE) -> FakeDevice:
    """Give ``user`` an active second factor from the test-only method."""
    return FakeDevice.objects.create(user=user, name="fake", confirmed=True, code=code)


@pytest.fixture
def user_with_mfa(user) -> User:
    add_fake_device(user)
    return user


def sign_in(client, user: User, *, password: str = PASSWORD, code: str | None = FAKE_CODE):
    """Sign in through the real pages: password, then the second factor if asked."""
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": password})
    if response.status_code == 302 and response.url == reverse("accounts:login_verify") and code is not None:
        response = client.post(reverse("accounts:login_verify"), {"code": code})
    return response


def reauthenticate(client, user: User, *, password: str = PASSWORD, code: str = FAKE_CODE, next_url: str = ""):
    data = {"password": password, **({"next": next_url} if next_url else {})}
    if FakeDevice.objects.filter(user=user, confirmed=True).exists():
        data["code"] = code
    return client.post(reverse("accounts:reauthenticate"), data)


def open_after_step_up(client, user: User, url: str):
    """Confirm it's you for ``url``, then open it: an administrator's member pages open once per step-up."""
    response = reauthenticate(client, user, next_url=url)
    assert response.status_code == 302 and response.url == url, response
    return client.get(url)


def let_step_up_window_pass() -> None:
    """Move the clock past the step-up window a sign-in or step-up opened (the session lives on)."""
    project_clock.advance(mfa_settings.REAUTH_WINDOW + 1)


@pytest.fixture
def signed_in_client(client, user):
    assert sign_in(client, user).status_code == 302
    return client


@pytest.fixture
def reauthenticated_client(signed_in_client, user):
    assert reauthenticate(signed_in_client, user).status_code == 302
    return signed_in_client


def ensure_plans() -> None:
    """Recreate the plan rows of migration agencies/0002: a transactional test's flush deletes them."""
    importlib.import_module("agencies.migrations.0002_plans").create_plans(django_apps, None)


@pytest.fixture
def acme(make_user):
    """Acme Agency (Growth) with an Owner, an Administrator and two Users."""
    ensure_plans()
    owner = make_user("owner@acme.test", name="Olivia Owner")
    agency = create_agency(name="Acme Agency", plan_code="growth", owner=owner)
    dental = add_subaccount(agency=agency, name="Acme Dental")
    plumbing = add_subaccount(agency=agency, name="Acme Plumbing")
    admin = make_user("admin@acme.test", name="Adam Admin")
    alice = make_user("alice@acme.test", name="Alice Example")
    bob = make_user("bob@acme.test", name="Bob Example")
    add_member(agency=agency, user=admin, role=Role.ADMIN, subaccounts=[dental, plumbing])
    add_member(agency=agency, user=alice, role=Role.USER, subaccounts=[dental])
    add_member(agency=agency, user=bob, role=Role.USER, subaccounts=[plumbing])
    return type("Acme", (), {"agency": agency, "owner": owner, "admin": admin, "alice": alice, "bob": bob,
                             "dental": dental, "plumbing": plumbing})


@pytest.fixture
def solo(make_user):
    """Solo Shop (Starter) with its Owner."""
    ensure_plans()
    owner = make_user("owner@solo.test", name="Sam Solo")
    agency = create_agency(name="Solo Shop", plan_code="starter", owner=owner)
    return type("Solo", (), {"agency": agency, "owner": owner})


# -- the fake of Twilio's Messages API (tests/fake_twilio.py), for any test that texts --

@pytest.fixture(scope="session")
def fake_twilio_server():
    fake = start_fake_twilio()
    yield fake
    stop_fake_twilio(fake)


@pytest.fixture
def fake_twilio(fake_twilio_server, settings):
    """Route the "twilio" gateway (the real SDK) to the fake, with fresh state."""
    fake = fake_twilio_server
    fake.reset()
    settings.MFA_SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = fake.url
    settings.MFA_SMS_TWILIO_TIMEOUT = 2.0
    yield fake
    fake.reset()


# -- a Redis of the test's own as the cache, for the Redis fault tests --

@pytest.fixture
def redis_server(settings):
    """A redis-server of this test's own, used as Django's cache; stopped afterwards."""
    server = RedisServer().start()
    settings.CACHES = {"default": {
        "BACKEND": "ctm_auth.cache.RedisCache",
        "LOCATION": server.url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}
    yield server
    server.stop()
