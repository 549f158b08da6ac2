"""The measured scenarios. Data is made with the product's flows, or in bulk where
the flows would take minutes (a 10,000-user agency)."""
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts import notify
from accounts.delivery import engine
from accounts.models import Delivery, DeliveryState, User
from agencies.flows import add_member, create_agency, set_two_factor_policy
from agencies.models import Membership, Role, SubAccount
from ctm_auth import clock
from mfa.registry import get_method
from mfa.totp import flows as totp_flows
from mfa.totp import otp
from tests.fake_method.models import FakeDevice

PASSWORD = "benchmark passphrase 2026"


def _request_for(user):
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    request.user = user
    request.session = SessionStore()
    return request


def password_sign_in(median_ms, report, connection):
    """Step 1 with Argon2id (m=19 MiB, t=2, p=1): the cost of every sign-in."""
    user = User.objects.create_user("bench-signin@example.test", PASSWORD, name="Bench")
    url = reverse("accounts:login")

    def sign_in():
        client = Client()
        response = client.post(url, {"email": user.email, "password": PASSWORD})
        assert response.status_code == 302

    report("sign-in step 1 (Argon2id verify + session)", median_ms(sign_in, runs=11), "ms")

    def failed(email: str):
        cache.clear()  # stay under the failure limits
        assert Client().post(url, {"email": email, "password": "not the password"}).status_code == 200

    report("sign-in step 1, wrong password", median_ms(lambda: failed(user.email), runs=11), "ms")
    report("sign-in step 1, unknown email (hasher still runs)",
           median_ms(lambda: failed("nobody@example.test"), runs=11), "ms")
    cache.clear()


def totp_verify(median_ms, report, connection):
    """One Google Authenticator check through the flow: throttle, match, conditional UPDATE."""
    user = User.objects.create_user("bench-totp@example.test", PASSWORD, name="Bench")
    pending = totp_flows.start_enrolment(_request_for(user), user=user)
    outcome = totp_flows.confirm_enrolment(
        _request_for(user), user=user, setup_id=pending.setup_id,
        code=otp.generate(pending.secret, at=clock.timestamp(), digits=pending.digits, step=pending.step),
    )
    device = outcome.device
    method = get_method("totp")

    def verify():
        clock.advance(device.step)  # a fresh time-step each time, as a person signing in again
        code = otp.generate(device.secret, at=clock.timestamp(), digits=device.digits, step=device.step)
        assert method.verify(_request_for(user), user, code, purpose="sign_in").ok

    report("TOTP verify (accepted code, replay-proof update)", median_ms(verify), "ms")
    clock.reset()


def passkey_verify(median_ms, report, connection):
    """One passkey answer checked at step 2: parse, spend the challenge, ES256 signature, counter UPDATE.

    Only the server's check is timed; the software authenticator signs
    beforehand, as the user's key would in their browser.
    """
    import statistics
    import time

    from mfa.webauthn import flows as webauthn_flows
    from tests.webauthn_authenticator import SoftwareAuthenticator

    user = User.objects.create_user("bench-passkey@example.test", PASSWORD, name="Bench")
    authenticator, request = SoftwareAuthenticator(), _request_for(user)
    answer = authenticator.create(webauthn_flows.registration_options(request, user=user))
    assert webauthn_flows.add_key(request, user=user, name="Bench key", answer=answer).ok
    method = get_method("webauthn")

    def one_check(purpose: str) -> float:
        request = _request_for(user)
        answer = authenticator.get(webauthn_flows.authentication_options(request, user=user, purpose=purpose))
        started = time.perf_counter()
        assert method.verify(request, user, answer, purpose=purpose).ok
        return (time.perf_counter() - started) * 1000

    for _ in range(2):
        one_check("sign_in")
    report("passkey verify (ES256 assertion, spent challenge, counter)",
           statistics.median(one_check("sign_in") for _ in range(15)), "ms")

    def identify_once() -> float:
        request = _request_for(user)
        answer = authenticator.get(webauthn_flows.sign_in_options(request))
        started = time.perf_counter()
        assert method.identify(request, answer).user == user
        return (time.perf_counter() - started) * 1000

    report("passkey sign-in alone (find the key by id, then verify)",
           statistics.median(identify_once() for _ in range(15)), "ms")


def _bench_agency(owner, *, name: str, users: int, subaccounts: int, prefix: str):
    """An agency of ``users`` members over ``subaccounts``, a third of them with a second factor."""
    agency = create_agency(name=name, plan_code="growth", owner=owner)
    subs = SubAccount.objects.bulk_create([SubAccount(agency=agency, name=f"Sub {i:03}") for i in range(subaccounts)])
    unusable = make_password(None)
    members = User.objects.bulk_create(
        [User(email=f"{prefix}{i:05}@bench.test", name=f"Bench {i:05}", password=unusable) for i in range(users)],
        batch_size=2000,
    )
    memberships = Membership.objects.bulk_create(
        [Membership(agency=agency, user=u, role=Role.USER) for u in members], batch_size=2000
    )
    through = Membership.subaccounts.through
    through.objects.bulk_create(
        [through(membership_id=m.pk, subaccount_id=subs[i % subaccounts].pk) for i, m in enumerate(memberships)],
        batch_size=2000,
    )
    FakeDevice.objects.bulk_create(
        [FakeDevice(user=u, name="fake", confirmed=True, code="1") for u in members[::3]], batch_size=2000
    )
    if connection.vendor == "postgresql":
        # A production database has statistics for its tables; without them
        # the planner guesses, and the figures depend on whether autovacuum
        # happened to analyse the new rows during the run.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return agency


def manage_users_page(median_ms, report, connection):
    """Settings > Manage Users for an agency of 200 subaccounts and 10,000 users, beside one of 100 users."""
    owner = User.objects.create_user("bench-owner@example.test", PASSWORD, name="Owner")
    FakeDevice.objects.create(user=owner, name="fake", confirmed=True, code="424242")
    small = _bench_agency(owner, name="Small Agency", users=100, subaccounts=10, prefix="s")
    agency = _bench_agency(owner, name="Bench Agency", users=10_000, subaccounts=200, prefix="b")
    client = Client()
    client.post(reverse("accounts:login"), {"email": owner.email, "password": PASSWORD})
    client.post(reverse("accounts:login_verify"), {"code": "424242"})
    url = reverse("settings:manage_users", args=[agency.pk])

    def page(params=None, at=url):
        response = client.get(at, params or {})
        assert response.status_code == 200

    def statements(action) -> int:
        executed = []
        # Count with an execute wrapper: the request closes its connection at
        # the end, which empties the query log CaptureQueriesContext reads.
        with connection.execute_wrapper(lambda execute, sql, params, many, context: executed.append(sql)
                                        or execute(sql, params, many, context)):
            action()
        return len(executed)

    small_url = reverse("settings:manage_users", args=[small.pk])
    small_ms = median_ms(lambda: page(at=small_url), runs=9)
    small_queries = statements(lambda: page(at=small_url))
    report("Manage Users, 100 users, first page", small_ms, "ms", f"({small_queries} queries)")
    large_ms = median_ms(page, runs=9)
    report("Manage Users, 10,000 users, first page", large_ms, "ms", f"({statements(page)} queries)")
    report("Manage Users, 10,000 users / 100 users (goal <= 1.5)", large_ms / small_ms, "x")
    report("Manage Users, search + '2FA not enabled' filter",
           median_ms(lambda: page({"q": "Bench 09", "without_two_factor": "on"}), runs=9), "ms")

    toggles = iter([False, True] * 3)

    def announce():
        set_two_factor_policy(None, actor=owner, agency=agency, required=next(toggles), grace_days=30)

    started = Delivery.objects.count()
    report("Policy on/off for 10,000 members: outbox rows written",
           median_ms(announce, runs=5, warmup=1), "ms", f"({(Delivery.objects.count() - started) // 6} rows each)")
    worker_batch(median_ms, report)
    set_two_factor_policy(None, actor=owner, agency=agency, required=True, grace_days=30)
    add_member(agency=agency, user=User.objects.create_user("bench-member@example.test", PASSWORD, name="M"),
               role=Role.USER)
    member_client = Client()
    member_client.post(reverse("accounts:login"), {"email": "bench-member@example.test", "password": PASSWORD})
    profile = reverse("accounts:profile")

    def cached():
        member_client.get(profile)

    def uncached():
        cache.delete(f"2fa-policy:user:{User.objects.get(email='bench-member@example.test').pk}")
        member_client.get(profile)

    report("Profile page under the policy, answer cached", median_ms(cached), "ms")
    report("Profile page under the policy, answer not cached", median_ms(uncached), "ms")


def worker_batch(median_ms, report):
    """The worker's side: claim, send (locmem mail backend, so SMTP's own speed is left out), record."""
    from django.core import mail

    queued = list(Delivery.objects.filter(state=DeliveryState.PENDING).values_list("pk", flat=True))
    batches = iter([queued[start:start + 100] for start in range(0, len(queued), 100)])

    def one_batch():
        assert engine.deliver_batch(next(batches)).get("sent") == 100

    per_batch = median_ms(one_batch, runs=9, warmup=1)
    report("Worker: one batch of 100 queued emails", per_batch, "ms", f"({per_batch / 100:.2f} ms per email)")
    mail.outbox = []


def notify_one(median_ms, report, connection):
    """What a security action pays for its email now: one encrypted outbox row, no SMTP."""
    user = User.objects.create_user("bench-notify@example.test", PASSWORD, name="Bench")

    def notify_in_transaction():
        with transaction.atomic():
            notify.send(user, "accounts/email/password_changed", {"request_ip": "203.0.113.9"})

    report("Email notice written to the outbox (in a transaction)", median_ms(notify_in_transaction), "ms")


def security_log_page(median_ms, report, connection):
    from benchmarks.security_log import security_log

    security_log(median_ms, report, connection)


ALL = [password_sign_in, totp_verify, passkey_verify, notify_one, manage_users_page, security_log_page]
