"""The TOTP secret never reaches the database in a readable form."""
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from mfa.totp import flows, otp
from mfa.totp.models import TOTPDevice
from tests.mfa.totp.conftest import enrol

pytestmark = pytest.mark.django_db

# Run in a child process against a file-based SQLite database: the test
# database of the suite may be in memory (or PostgreSQL), and we want the
# bytes that a stolen database file would hold.
CHILD_SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import User
from mfa.totp import flows
from tests.mfa.totp.conftest import enrol
active = enrol(User.objects.create_user("active@example.test", "a long password 123", name="Active"))
pending = flows.start_enrolment(None, user=User.objects.create_user("pending@example.test", "a long password 123",
                                                                    name="Pending"))
print(json.dumps({"secrets": [active.secret, pending.secret]}))
"""


def readable_forms(secret: str) -> list[bytes]:
    """Every way the secret could be spotted in a dump: base32, hex (both cases), raw bytes."""
    hex_form = otp.secret_hex(secret)
    return [secret.encode(), secret.lower().encode(), hex_form.encode(), hex_form.upper().encode(),
            base64.b32decode(secret)]


def raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return cursor.fetchall()


def test_raw_table_rows_hold_neither_base32_nor_hex_secret(user, make_user):
    active = enrol(user)
    pending = flows.start_enrolment(None, user=make_user("pending@example.test"))
    rows = raw_rows(TOTPDevice._meta.db_table)
    assert len(rows) == 2
    dump = repr(rows).encode()
    for secret in (active.secret, pending.secret):
        for form in readable_forms(secret):
            assert form not in dump
    # What is stored is a Fernet token that decrypts back to the secret.
    stored = [value for row in rows for value in row if isinstance(value, str) and value.startswith("gAAAAA")]
    assert len(stored) == 2
    assert {TOTPDevice.objects.get(pk=pk).secret for pk in (active.pk, pending.pk)} == {active.secret, pending.secret}


def test_sessions_and_audit_log_hold_no_secret(client, user, password):
    client.post("/account/login/", {"email": user.email, "password": password})
    client.post("/account/reauthenticate/", {"password": password})
    client.post("/mfa/totp/start/")
    pending = TOTPDevice.objects.get(user=user)
    client.get("/mfa/totp/setup/")
    dump = (repr(raw_rows("django_session")) + repr(raw_rows("accounts_auditevent"))).encode()
    for form in readable_forms(pending.secret):
        assert form not in dump


def test_sqlite_database_file_holds_neither_base32_nor_hex_secret(tmp_path):
    db_file = tmp_path / "dump.sqlite3"
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{db_file}", DJANGO_SETTINGS_MODULE="ctm_auth.settings.test",
               PYTHONPATH=str(settings.BASE_DIR))
    result = subprocess.run([sys.executable, "-c", CHILD_SCRIPT], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    secrets_written = json.loads(result.stdout.strip().splitlines()[-1])["secrets"]
    files = [path for path in Path(tmp_path).iterdir() if path.name.startswith("dump.sqlite3")]
    content = b"".join(path.read_bytes() for path in files)
    assert b"active@example.test" in content and b"pending@example.test" in content  # rows were written
    assert content.count(b"gAAAAA") >= 2  # as Fernet tokens
    for secret in secrets_written:
        for form in readable_forms(secret):
            assert form not in content
