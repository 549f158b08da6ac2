"""Tests: development settings plus a test-only MFA method.

The database and cache still come from DATABASE_URL and REDIS_URL, so the
same suite runs on SQLite/local memory and on PostgreSQL/Redis.
"""
import os

from cryptography.fernet import Fernet

from ctm_auth.env import env_int
from ctm_auth.settings.development import *  # noqa: F403
from ctm_auth.settings.development import INSTALLED_APPS, MFA_METHODS, method_apps

_TEST_METHODS = ["tests.fake_method.method.FakeCodeMethod"]
MFA_METHODS = MFA_METHODS + _TEST_METHODS
INSTALLED_APPS = INSTALLED_APPS + method_apps(_TEST_METHODS)
# A Celery worker started by tests/workers.py is told, through its
# environment, to send to a loopback SMTP server and to queue its retries on
# the broker; the test process itself keeps locmem and "inline".
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Outbox rows are sent in this process right after the commit (Celery's eager
# mode, in effect). The delivery and fault tests switch to "poll" and drain the
# outbox themselves, or run a real Celery worker (tests/workers.py).
ACCOUNTS_DELIVERY_QUEUE = os.environ.get("DELIVERY_QUEUE", "inline")
# Short leases, retries and sweep grace for those workers, so crash recovery
# takes seconds; unset, the defaults of accounts/app_settings.py apply.
if os.environ.get("ACCOUNTS_EMAIL_RETRY_BASE"):
    ACCOUNTS_EMAIL_RETRY_BASE = env_int("ACCOUNTS_EMAIL_RETRY_BASE", 30)
if os.environ.get("ACCOUNTS_DELIVERY_LEASE"):
    ACCOUNTS_DELIVERY_LEASE = env_int("ACCOUNTS_DELIVERY_LEASE", 120)
if os.environ.get("MFA_SMS_RETRY_BASE"):
    MFA_SMS_RETRY_BASE = float(os.environ["MFA_SMS_RETRY_BASE"])
if os.environ.get("ACCOUNTS_DELIVERY_SWEEP_GRACE"):
    ACCOUNTS_DELIVERY_SWEEP_GRACE = env_int("ACCOUNTS_DELIVERY_SWEEP_GRACE", 30)
# pytest-django turns DEBUG off at run time; off here too, so modules read at
# import (the DEBUG-only Dev SMS outbox URL) see the same value when collection loads them.
DEBUG = False

# pytest-django turns DEBUG off, which (rightly) disables the development key
# derived from SECRET_KEY. A fresh key per test process keeps encrypted fields
# working without a key in the repository; the test databases die with it.
FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [Fernet.generate_key().decode()]  # noqa: F405
