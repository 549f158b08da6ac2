"""SQL statements per sign-in and per page: the budgets docs/performance.md promises.

Counted as the database sees them: every statement a request sends, without
the transaction control (BEGIN, COMMIT, SAVEPOINT) that the test's own
transaction adds. A user's first sign-in in a quarter hour also reads their
memberships, once, for the answers then cached per user (policy, time zone,
menu); the budgets hold both ways. Times are `make bench`'s.
"""
import re

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from agencies.flows import create_agency
from benchmarks.scenarios import _request_for
from ctm_auth import clock
from mfa.totp import flows as totp_flows
from mfa.totp import otp
from tests.conftest import PASSWORD, ensure_plans

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


class Statements:
    """Counts the statements sent to the database inside a ``with`` block."""

    def __init__(self):
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
            self.sql.append(sql)
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def __len__(self) -> int:
        return len(self.sql)

    def __str__(self) -> str:
        return "\n".join(statement[:160] for statement in self.sql)


@pytest.fixture
def totp_user(db):
    """A member of an agency with Google Authenticator on; returns (user, secret)."""
    ensure_plans()
    user = User.objects.create_user("budget@example.test", PASSWORD, name="Budget User")
    create_agency(name="Budget Agency", plan_code="growth", owner=user)
    pending = totp_flows.start_enrolment(_request_for(user), user=user)
    totp_flows.confirm_enrolment(_request_for(user), user=user, setup_id=pending.setup_id,
                                 code=_code(pending.secret))
    return user, pending.secret


def _code(secret: str) -> str:
    return otp.generate(secret, at=clock.timestamp(), digits=6, step=30)


def _full_sign_in(client, user, secret) -> list[int]:
    """Password, step 2's page, the code, the first page: the statements of each."""
    counts = []
    with Statements() as password_step:
        response = client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("accounts:login_verify")
    counts.append(len(password_step))
    with Statements() as verify_page:
        assert client.get(reverse("accounts:login_verify")).status_code == 200
    counts.append(len(verify_page))
    clock.advance(30)  # a fresh time step: a code is good once
    with Statements() as code_step:
        response = client.post(reverse("accounts:login_verify"), {"code": _code(secret)})
    assert response.status_code == 302 and response.url == reverse("accounts:profile"), response
    counts.append(len(code_step))
    with Statements() as first_page:
        page = client.get(response.url)
    assert page.status_code == 200 and "Google Authenticator" in page.content.decode()
    counts.append(len(first_page))
    return counts


def test_a_full_sign_in_with_google_authenticator_costs_at_most_20_statements(client, totp_user):
    user, secret = totp_user
    cold = _full_sign_in(client, user, secret)
    client.post(reverse("accounts:logout"))

    warm = _full_sign_in(client, user, secret)

    # Password 4, step 2's page 1, the code 9, the Profile 4 (the goal is 20 in all).
    assert sum(warm) <= 18, warm
    # A user's first sign-in in a while also reads their memberships once, for
    # the policy, the agency's time zone and the Settings menu (then cached).
    assert sum(cold) <= 19, (cold, warm)


def test_the_profile_costs_at_most_4_statements(client, totp_user):
    user, secret = totp_user
    _full_sign_in(client, user, secret)

    with Statements() as profile:
        page = client.get(reverse("accounts:profile"))

    assert page.status_code == 200 and "Google Authenticator" in page.content.decode()
    # The user with every method's state and the authenticator's "set up"
    # date, the sign-in activity, the sessions, the trusted browsers (the goal is 5).
    assert len(profile) <= 4, str(profile)


@pytest.mark.urls("tests.budget_urls")
def test_a_trivial_signed_in_page_costs_one_statement_under_all_our_middleware(client, totp_user):
    user, secret = totp_user
    _full_sign_in(client, user, secret)

    with Statements() as trivial:
        page = client.get(reverse("budget_trivial"))

    assert page.content.decode() == "Hello, Budget User"
    # Bare Django pays two (the session, the user); the session comes from
    # the cache here, and the user query carries the methods' states.
    assert len(trivial) <= 1, str(trivial)


@pytest.mark.urls("benchmarks.peers.ctm_urls")
def test_the_benchs_profile_core_is_the_profile_without_the_sections_the_peers_lack(client, totp_user):
    """make bench's /bench/profile-core/ must stay the Profile's own first and Multi-Factor Methods sections."""
    user, secret = totp_user
    _full_sign_in(client, user, secret)

    profile = _cards(client.get(reverse("accounts:profile")).content.decode())
    with Statements() as statements:
        core = _cards(client.get("/bench/profile-core/").content.decode())

    assert list(profile) == ["", "preferences", "multi-factor-methods", "active-sessions", "trusted-browsers",
                             "sign-in-activity"]
    assert core == {key: profile[key] for key in ("", "multi-factor-methods")}
    assert "Google Authenticator" in core["multi-factor-methods"]
    # The user with the methods' states; the sessions, trusted browsers and activity queries went with their sections.
    assert len(statements) <= 1, str(statements)


def _cards(page: str) -> dict[str, str]:
    """The page's sections by id ("" for the first, which has none), each form's CSRF token blanked."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)
    return {match[1] or "": match[0] for match in
            re.finditer(r'<section class="card"(?: id="([^"]+)")?>.*?</section>', page, re.S)}


def test_a_wrong_code_costs_no_more_than_a_right_one(client, totp_user):
    """The throttled path must not be the expensive one an attacker hammers."""
    user, secret = totp_user
    client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})

    wrong_code = "000000" if _code(secret) != "000000" else "111111"

    with Statements() as wrong:
        response = client.post(reverse("accounts:login_verify"), {"code": wrong_code})

    assert response.status_code == 200 and "That code is not correct" in response.content.decode()
    # The user, the device and its failure count, the audit entries: no more than a success pays.
    assert len(wrong) <= 9, str(wrong)
    assert "_auth_user_id" not in client.session
