"""Tests: development settings plus a test-only MFA method.

The database and cache still come from DATABASE_URL and REDIS_URL, so the
same suite runs on SQLite/local memory and on PostgreSQL/Redis.
"""
import os
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

from ctm_auth.settings.development import *  # noqa: F403
from ctm_auth.settings.development import CACHES, INSTALLED_APPS, MFA_METHODS, REDIS_URL, method_apps

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
# takes seconds; unset, the defaults of the apps' app_settings.py apply.
_WORKER_OVERRIDES = {
    "ACCOUNTS_EMAIL_RETRY_BASE": float, "ACCOUNTS_DELIVERY_LEASE": int, "ACCOUNTS_DELIVERY_SWEEP_GRACE": int,
    "MFA_SMS_RETRY_BASE": float, "MFA_SMS_SEND_ATTEMPTS": int,
}
globals().update({name: kind(os.environ[name]) for name, kind in _WORKER_OVERRIDES.items() if os.environ.get(name)})
# pytest-django turns DEBUG off at run time; off here too, so modules read at
# import (the DEBUG-only Dev SMS outbox URL) see the same value when collection loads them.
DEBUG = False

# pytest-django turns DEBUG off, which (rightly) disables the development key
# derived from SECRET_KEY. A fresh key per test process keeps encrypted fields
# working without a key in the repository; the test databases die with it.
FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [Fernet.generate_key().decode()]  # noqa: F405

# Under pytest-xdist every worker already has its own test database
# (test_<name>_gw1); it gets its own Redis database too, counting down from
# REDIS_URL's, because one worker's cache.clear() (a simulated Redis restart)
# must not wipe another's rate-limit counters. The environment carries the
# result to the app servers and workers the tests start, which must not shift
# it again.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _XDIST_WORKER.startswith("gw") and not os.environ.get("TEST_REDIS_PER_WORKER"):
    _url = urlsplit(REDIS_URL)
    _database = int(_url.path.strip("/") or 0) - int(_XDIST_WORKER[2:])
    if _database < 0:
        raise RuntimeError(f"{REDIS_URL}: too few Redis databases below it for xdist worker {_XDIST_WORKER}")
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_database}"))
    CACHES["default"]["LOCATION"] = REDIS_URL
    if CELERY_BROKER_URL == os.environ.get("REDIS_URL"):  # noqa: F405
        CELERY_BROKER_URL = REDIS_URL
    os.environ.update(REDIS_URL=REDIS_URL, TEST_REDIS_PER_WORKER="1")
