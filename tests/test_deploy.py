"""Production settings: `check --deploy` is clean, and missing secrets stop the start-up.

Each test starts a fresh Python, as a deployment would: production settings
are read once at import and cannot be swapped inside this test process.
"""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Variables the parent test run may have set that must not leak into the child.
INHERITED = ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "DEBUG",
             "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")


def production_env(**overrides: str | None) -> dict[str, str]:
    """A complete production environment; an override of None removes the variable."""
    env = {name: value for name, value in os.environ.items() if name not in INHERITED}
    env.update({
        "DJANGO_SETTINGS_MODULE": "ctm_auth.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "ctm.example.com",
        "WEBAUTHN_RP_ID": "ctm.example.com",
        "WEBAUTHN_ORIGINS": "https://ctm.example.com",
    })
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env,
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_with_production_settings_has_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in output and "security.W" not in output


def test_production_without_secret_key_refuses_to_start():
    result = manage("check", env=production_env(SECRET_KEY=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set SECRET_KEY in production." in result.stderr


def test_production_with_empty_secret_key_refuses_to_start():
    result = manage("check", env=production_env(SECRET_KEY=""))

    assert result.returncode != 0
    assert "Set SECRET_KEY in production." in result.stderr


def test_production_without_field_encryption_keys_refuses_to_start():
    result = manage("check", env=production_env(FIELD_ENCRYPTION_KEYS=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set FIELD_ENCRYPTION_KEYS in production" in result.stderr


def test_production_ignores_debug_from_the_environment():
    """DEBUG=true in a production environment must not bring back debug pages."""
    code = "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"

    result = manage("shell", "--no-imports", "-c", code, env=production_env(DEBUG="true"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def production_setting(code: str, **overrides: str | None) -> list[str]:
    """Print values from a fresh production Python; return its words."""
    result = manage("shell", "--no-imports", "-c", code, env=production_env(**overrides))
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_production_reads_the_text_message_gateway_from_the_environment():
    code = ("from django.conf import settings; from mfa.sms.gateways import backend_path; "
            "print(settings.MFA_SMS_BACKEND, backend_path())")

    assert production_setting(code, MFA_SMS_BACKEND="console") == [
        "console", "mfa.sms.gateways.console.ConsoleGateway"]
    assert production_setting(code, MFA_SMS_BACKEND=None)[0] == "twilio"


def test_check_deploy_warns_when_the_environment_deploys_a_development_gateway():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(MFA_SMS_BACKEND="console"))

    assert result.returncode != 0
    assert "mfa_sms.W001" in result.stderr and "MFA_SMS_BACKEND is a development gateway" in result.stderr


def test_production_email_timeout_defaults_to_ten_seconds():
    code = "from django.conf import settings; print(settings.EMAIL_TIMEOUT)"

    assert production_setting(code, EMAIL_TIMEOUT=None) == ["10"]
    assert production_setting(code, EMAIL_TIMEOUT="3") == ["3"]


def test_production_without_passkey_relying_party_fails_its_checks():
    """A passkey is bound to its RP id for good: production must name it, never guess it from a Host header."""
    result = manage("check", env=production_env(WEBAUTHN_RP_ID=None, WEBAUTHN_ORIGINS=None))

    assert result.returncode != 0
    assert "mfa_webauthn.E001" in result.stderr and "mfa_webauthn.E002" in result.stderr


def test_production_passkey_origin_must_be_https_on_the_rp_id():
    result = manage("check", env=production_env(WEBAUTHN_ORIGINS="http://ctm.example.com,https://evil.example.net"))

    assert result.returncode != 0
    assert "mfa_webauthn.E003" in result.stderr and "mfa_webauthn.E004" in result.stderr


def test_production_keeps_database_connections_between_requests():
    code = "from django.db import connection; print(connection.settings_dict['CONN_MAX_AGE'])"

    assert production_setting(code, DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused") == ["60"]


@pytest.mark.needs_postgres
def test_production_with_db_pool_size_queries_through_psycopgs_pool(db):
    """DB_POOL_SIZE turns on Django 5.2's psycopg pool; a query then borrows a pooled connection."""
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    code = ("from django.db import connection; "
            "connection.ensure_connection(); "
            "print(type(connection.pool).__name__, connection.pool.max_size, connection.settings_dict['CONN_MAX_AGE']); "
            "print(connection.cursor().execute('SELECT 1').fetchone()[0])")

    assert production_setting(code, DATABASE_URL=url, DB_POOL_SIZE="3") == ["ConnectionPool", "3", "0", "1"]
