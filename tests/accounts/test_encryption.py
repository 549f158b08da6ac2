"""Field encryption at rest (accounts.encryption) and key rotation (rotate_encryption_keys)."""
import traceback
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings

from tests.fake_method.models import EncryptedNote

SECRET = "JBSWY3DPEHPK3PXP"  # what a TOTP secret looks like


@pytest.fixture
def key_a() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def key_b() -> str:
    return Fernet.generate_key().decode()


def raw_text(note: EncryptedNote) -> str | None:
    """The column as stored, read past the ORM: what a database dump would show."""
    table, column = (connection.ops.quote_name(n) for n in (EncryptedNote._meta.db_table, "text"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [note.pk])
        return cursor.fetchone()[0]


def reload(note: EncryptedNote) -> EncryptedNote:
    return EncryptedNote.objects.get(pk=note.pk)


@pytest.mark.django_db
def test_encrypted_field_round_trip_returns_plaintext(key_a):
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        note = EncryptedNote.objects.create(text=SECRET)

        assert reload(note).text == SECRET
        assert list(EncryptedNote.objects.values_list("text", flat=True)) == [SECRET]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [None, ""])
def test_encrypted_field_empty_values_stay_empty(value):
    note = EncryptedNote.objects.create(text=value)

    assert raw_text(note) == value
    assert reload(note).text == value


@pytest.mark.django_db
def test_encrypted_field_raw_column_holds_fernet_token(key_a):
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        note = EncryptedNote.objects.create(text=SECRET)

    stored = raw_text(note)
    assert SECRET not in stored
    assert stored.startswith("gAAAAA")  # Fernet's version byte, base64-encoded
    assert Fernet(key_a).decrypt(stored.encode()).decode() == SECRET


@pytest.mark.django_db
def test_encrypted_field_same_plaintext_gives_different_tokens(key_a):
    """A dump must not reveal which users share a secret."""
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        first, second = EncryptedNote.objects.create(text=SECRET), EncryptedNote.objects.create(text=SECRET)

    assert raw_text(first) != raw_text(second)


@pytest.mark.django_db
def test_encryption_without_keys_in_debug_derives_key_from_secret_key():
    secret_key = "development-secret-key-" + "x" * 40
    with override_settings(FIELD_ENCRYPTION_KEYS=[], DEBUG=True, SECRET_KEY=secret_key):
        note = EncryptedNote.objects.create(text=SECRET)
        assert SECRET not in raw_text(note)

    # The same SECRET_KEY gives the same key again (a restart keeps the data readable) ...
    with override_settings(FIELD_ENCRYPTION_KEYS=[], DEBUG=True, SECRET_KEY=secret_key):
        assert reload(note).text == SECRET
    # ... and another SECRET_KEY gives another key: the key really comes from SECRET_KEY.
    with override_settings(FIELD_ENCRYPTION_KEYS=[], DEBUG=True, SECRET_KEY=secret_key + "-other"):
        with pytest.raises(ImproperlyConfigured):
            reload(note)


@pytest.mark.django_db
def test_encryption_without_keys_and_debug_off_refused():
    with override_settings(FIELD_ENCRYPTION_KEYS=[], DEBUG=False):
        with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS must be set when DEBUG is off"):
            with transaction.atomic():
                EncryptedNote.objects.create(text=SECRET)

    assert EncryptedNote.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "keys, position",
    [
        pytest.param(["not-a-fernet-key"], "entry 1 of 1", id="garbage"),
        pytest.param([Fernet.generate_key().decode(), "c2hvcnQta2V5"], "entry 2 of 2", id="too-short-second-key"),
    ],
)
def test_encryption_invalid_key_refused_with_clear_message(keys, position):
    with override_settings(FIELD_ENCRYPTION_KEYS=keys):
        with pytest.raises(ImproperlyConfigured) as excinfo, transaction.atomic():
            EncryptedNote.objects.create(text=SECRET)

    message = str(excinfo.value)
    assert f"FIELD_ENCRYPTION_KEYS {position} is not a valid Fernet key" in message
    assert "Fernet.generate_key()" in message  # tells the operator how to make one
    assert keys[-1] not in message  # never echoes key material
    assert EncryptedNote.objects.count() == 0


@pytest.mark.django_db
def test_encryption_keys_as_comma_separated_string_primary_first(key_a, key_b):
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{key_b}, {key_a}"):
        note = EncryptedNote.objects.create(text=SECRET)

    assert Fernet(key_b).decrypt(raw_text(note).encode()).decode() == SECRET


@pytest.mark.django_db
def test_rotate_encryption_keys_moves_every_row_to_the_new_primary(key_a, key_b):
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        notes = [EncryptedNote.objects.create(text=f"{SECRET}-{i}") for i in range(3)]
        empty = EncryptedNote.objects.create(text=None)
    before = {note.pk: raw_text(note) for note in notes}

    out = StringIO()
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_b, key_a]):
        call_command("rotate_encryption_keys", stdout=out)

    assert "Re-encrypted 4 row(s)." in out.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_b]):
        for i, note in enumerate(notes):
            assert reload(note).text == f"{SECRET}-{i}"
            after = raw_text(note)
            assert after != before[note.pk]
            assert Fernet(key_b).decrypt(after.encode()).decode() == f"{SECRET}-{i}"
            with pytest.raises(InvalidToken):
                Fernet(key_a).decrypt(after.encode())
        assert reload(empty).text is None


@pytest.mark.django_db
def test_rotate_encryption_keys_twice_is_harmless(key_a, key_b):
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        note = EncryptedNote.objects.create(text=SECRET)

    with override_settings(FIELD_ENCRYPTION_KEYS=[key_b, key_a]):
        call_command("rotate_encryption_keys", stdout=StringIO())
        call_command("rotate_encryption_keys", stdout=StringIO())

    with override_settings(FIELD_ENCRYPTION_KEYS=[key_b]):
        assert reload(note).text == SECRET


@pytest.mark.django_db
def test_decrypt_with_key_removed_too_early_raises_clear_error(key_a, key_b):
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        note = EncryptedNote.objects.create(text=SECRET)

    with override_settings(FIELD_ENCRYPTION_KEYS=[key_b]):
        with pytest.raises(ImproperlyConfigured) as excinfo:
            reload(note)

    message = str(excinfo.value)
    assert "fake_method.EncryptedNote.text could not be decrypted" in message
    assert "FIELD_ENCRYPTION_KEYS" in message and "rotate_encryption_keys" in message
    assert SECRET not in message
    printed = "".join(traceback.format_exception(excinfo.value))
    assert "cryptography" not in printed  # no stack of Fernet internals
    assert "InvalidToken" not in printed


@pytest.mark.django_db
def test_rotate_encryption_keys_with_key_missing_fails_with_command_error(key_a, key_b):
    with override_settings(FIELD_ENCRYPTION_KEYS=[key_a]):
        note = EncryptedNote.objects.create(text=SECRET)
    before = raw_text(note)

    with override_settings(FIELD_ENCRYPTION_KEYS=[key_b]):
        with pytest.raises(CommandError, match="fake_method.EncryptedNote: .*could not be decrypted"):
            call_command("rotate_encryption_keys", stdout=StringIO())

    assert raw_text(note) == before  # nothing half-written
