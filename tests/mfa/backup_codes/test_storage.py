"""Codes at rest: never in plain text anywhere in the database; keys rotate without breaking them."""
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from mfa.backup_codes import flows, selectors
from mfa.backup_codes.models import BackupCode, BackupCodeSet
from tests.mfa.backup_codes.conftest import flow_request, set_up_codes, sign_in_with_backup_code

pytestmark = pytest.mark.django_db


def dump_database() -> str:
    """Every row of every table, as text, as a stolen backup would show it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_raw_database_dump_holds_no_code_in_plain_text(user_with_mfa, fresh_client):
    fresh_client.post(reverse("mfa:backup_codes:generate"))
    page = fresh_client.get(reverse("mfa:backup_codes:new"))
    fresh_client.post(reverse("mfa:backup_codes:new"), {"saved": "on"})
    shown = [row.code for row in selectors.code_rows(BackupCodeSet.objects.get(user=user_with_mfa))]
    assert all(code in page.content.decode() for code in shown)
    fresh_client.get(reverse("mfa:backup_codes:view"))
    fresh_client.get(reverse("mfa:backup_codes:download"))
    fresh_client.post(reverse("accounts:logout"))
    sign_in_with_backup_code(fresh_client, user_with_mfa, shown[0])

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code, lookup FROM {BackupCode._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 10
    assert all(stored.startswith("gAAAAA") for stored, _ in rows)  # Fernet tokens
    dump = dump_database()
    for code in shown:
        assert code not in dump
        assert code.replace("-", "") not in dump
        assert code.replace("-", "").upper() not in dump


def test_stored_codes_survive_encryption_key_rotation(settings, user_with_mfa):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    codes = set_up_codes(user_with_mfa)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    assert [row.code for row in selectors.code_rows(code_set)] == codes
    result = flows.verify_code(flow_request(), user=user_with_mfa, code=codes[0], purpose="sign_in")
    assert result.ok


def test_rehash_command_moves_lookups_to_the_new_hash_key(settings, user_with_mfa, clock):
    settings.MFA_BACKUP_CODES_HASH_KEY = "old lookup key"
    codes = set_up_codes(user_with_mfa)
    settings.MFA_BACKUP_CODES_HASH_KEY = "new lookup key"
    assert not flows.verify_code(flow_request(), user=user_with_mfa, code=codes[0], purpose="sign_in").ok
    clock.advance(1)  # the failure above started a one-second throttle
    settings.MFA_BACKUP_CODES_HASH_KEY_FALLBACKS = ["old lookup key"]
    assert flows.verify_code(flow_request(), user=user_with_mfa, code=codes[1], purpose="sign_in").ok
    call_command("rehash_backup_codes", stdout=open("/dev/null", "w"))
    settings.MFA_BACKUP_CODES_HASH_KEY_FALLBACKS = []
    assert flows.verify_code(flow_request(), user=user_with_mfa, code=codes[2], purpose="sign_in").ok
    assert flows.verify_code(flow_request(), user=user_with_mfa, code=codes[1], purpose="sign_in").error == "used"
