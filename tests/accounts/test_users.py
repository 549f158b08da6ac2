"""Users: the email sign-in name, Argon2id hashes and their upgrade."""
import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

# OWASP Password Storage Cheat Sheet, Argon2id baseline.
OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2
OWASP_MIN_PARALLELISM = 1


def parse_argon2_hash(encoded: str) -> dict:
    """Split Django's "argon2$argon2id$v=19$m=...,t=...,p=...$salt$hash" into its parts."""
    algorithm, variety, version, params, _salt, _digest = encoded.split("$")
    values = dict(item.split("=") for item in params.split(","))
    return {"algorithm": algorithm, "variety": variety, "version": version,
            **{key: int(value) for key, value in values.items()}}


def test_sign_in_with_email_in_different_case_succeeds(client, make_user):
    user = make_user("mixed.case@example.test")

    response = client.post(reverse("accounts:login"), {"email": "MIXED.Case@EXAMPLE.test", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_create_user_with_email_differing_only_in_case_is_refused(make_user):
    make_user("taken@example.test")

    with pytest.raises(ValidationError) as refused:
        User.objects.create_user("TAKEN@Example.Test", PASSWORD, name="Copy Cat")

    assert "email" in refused.value.message_dict
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1


def test_insert_user_with_email_differing_only_in_case_is_refused_by_the_database(make_user):
    make_user("taken@example.test")

    # Bypass the manager's normalisation: the case-insensitive unique
    # constraint still refuses the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="Taken@EXAMPLE.test", name="Copy Cat")

    assert User.objects.filter(email__iexact="taken@example.test").count() == 1


def test_create_user_stores_email_in_lower_case(make_user):
    user = make_user("  Someone@Example.TEST ")

    assert user.email == "someone@example.test"


def test_password_hashers_put_argon2id_first():
    first = get_hasher("default")

    assert settings.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2idPasswordHasher"
    assert first.algorithm == "argon2"


def test_create_user_stores_argon2id_hash_with_owasp_parameters(user):
    stored = parse_argon2_hash(user.password)

    assert stored["algorithm"] == "argon2"
    assert stored["variety"] == "argon2id"
    assert stored["version"] == "v=19"
    assert stored["m"] >= OWASP_MIN_MEMORY_KIB
    assert stored["t"] >= OWASP_MIN_TIME_COST
    assert stored["p"] >= OWASP_MIN_PARALLELISM
    assert user.check_password(PASSWORD)


def test_sign_in_upgrades_pbkdf2_hash_to_argon2id(client, user):
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert user.password.startswith("pbkdf2_sha256$")

    response = sign_in(client, user)

    assert response.status_code == 302
    user.refresh_from_db()
    stored = parse_argon2_hash(user.password)
    assert stored["variety"] == "argon2id"
    assert stored["m"] >= OWASP_MIN_MEMORY_KIB
    assert user.check_password(PASSWORD)


def test_sign_in_upgrades_weaker_argon2_parameters(client, user):
    weak = get_hasher("argon2")
    weak_params = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}
    user.password = type("WeakArgon2", (type(weak),), weak_params)().encode(PASSWORD, weak.salt())
    user.save(update_fields=["password"])
    assert parse_argon2_hash(user.password)["m"] == 8 * 1024

    assert sign_in(client, user).status_code == 302

    user.refresh_from_db()
    assert parse_argon2_hash(user.password)["m"] >= OWASP_MIN_MEMORY_KIB


def test_failed_sign_in_keeps_old_hash(client, user):
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.password = old
    user.save(update_fields=["password"])

    response = client.post(reverse("accounts:login"), {"email": user.email, "password": "wrong password here"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password == old
