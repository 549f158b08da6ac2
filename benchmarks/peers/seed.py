"""Create the benchmark users of one site: `python -m benchmarks.peers.seed <site> <count>`.

Run with that site's DJANGO_SETTINGS_MODULE (and its Python: ours from .venv,
the peers from the peers venv), after migrate. Every user has the same
password and a TOTP secret the driver derives from their number
(bench_secret), so nothing needs to pass between seed and driver. The
password is hashed once and the hash shared: each sign-in still runs the
full Argon2id verification.
"""
import base64
import hashlib
import sys

PASSWORD = "benchmark passphrase 2026"


def bench_email(number: int) -> str:
    return f"bench{number:04}@bench.example.com"


def bench_secret(number: int) -> str:
    """The user's 160-bit TOTP secret, in unpadded base32 (the form authenticator apps take)."""
    return base64.b32encode(secret_bytes(number)).decode().rstrip("=")


def secret_bytes(number: int) -> bytes:
    return hashlib.sha1(f"ctm-auth bench TOTP {number}".encode()).digest()


def seed_ctm(count: int, password_hash: str) -> None:
    from accounts.models import User
    from agencies.flows import create_agency
    from agencies.models import Membership, Role
    from ctm_auth import clock
    from mfa.totp.models import TOTPDevice

    users = User.objects.bulk_create(
        [User(email=bench_email(n), name=f"Bench User {n:04}", password=password_hash) for n in range(count)])
    # Every member belongs to an agency, as in the product (seed_demo); the first one owns it.
    agency = create_agency(name="Bench Agency", plan_code="growth", owner=users[0])
    Membership.objects.bulk_create([Membership(agency=agency, user=user, role=Role.USER) for user in users[1:]])
    now = clock.now()
    TOTPDevice.objects.bulk_create([
        TOTPDevice(user=user, name="Authenticator app", secret=bench_secret(n), confirmed=True, confirmed_at=now)
        for n, user in enumerate(users)
    ])


def seed_twofactor(count: int, password_hash: str) -> None:
    from django.contrib.auth.models import User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    users = User.objects.bulk_create(
        [User(username=bench_email(n), email=bench_email(n), password=password_hash) for n in range(count)])
    # "default" is the device the login wizard asks for (two_factor.utils.default_device).
    TOTPDevice.objects.bulk_create([
        TOTPDevice(user=user, name="default", key=secret_bytes(n).hex(), confirmed=True)
        for n, user in enumerate(users)
    ])


def seed_allauth(count: int, password_hash: str) -> None:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import encrypt
    from django.contrib.auth.models import User

    users = User.objects.bulk_create(
        [User(username=bench_email(n), email=bench_email(n), password=password_hash) for n in range(count)])
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users])
    Authenticator.objects.bulk_create([
        Authenticator(user=user, type=Authenticator.Type.TOTP, data={"secret": encrypt(bench_secret(n))})
        for n, user in enumerate(users)
    ])


def seed_bare(count: int, password_hash: str) -> None:
    from django.contrib.auth.models import User

    User.objects.bulk_create(
        [User(username=bench_email(n), email=bench_email(n), password=password_hash) for n in range(count)])


SEEDERS = {"ctm": seed_ctm, "twofactor": seed_twofactor, "allauth": seed_allauth, "bare": seed_bare}


def main(site: str, count: int) -> None:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    with transaction.atomic():
        SEEDERS[site](count, make_password(PASSWORD))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
