"""Settings shared by every environment. Values come from the environment.

development.py and production.py import this module and adjust it. Settings of
our own apps live in their app_settings.py, with defaults, and may be
overridden here by name (ACCOUNTS_*, MFA_*).
"""
from pathlib import Path

import dj_database_url

from ctm_auth.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")

# The MFA methods in use, as dotted paths to Method classes. A new method is a
# new sub-package of mfa/ plus one line here; its Django app is derived below.
MFA_METHODS: list[str] = [
    "mfa.totp.method.TOTPMethod",
    "mfa.sms.method.SMSMethod",
    "mfa.webauthn.method.WebAuthnMethod",
    # After the primary methods: step 2 offers "Use a temporary access pass" before "Use a backup code".
    "mfa.access_pass.method.AccessPassMethod",
    "mfa.backup_codes.method.BackupCodesMethod",
]


def method_apps(method_paths: list[str]) -> list[str]:
    """Return the Django apps ("mfa.totp") that hold the given Method classes."""
    return [path.rsplit(".", 2)[0] for path in method_paths]


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "accounts",
    "agencies",
    "mfa",
    *method_apps(MFA_METHODS),
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer before host checks, HTTPS redirects
    # and sessions, so a load balancer's probe needs no cookie and no Host.
    "ctm_auth.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ctm_auth.middleware.ContentSecurityPolicyMiddleware",
    "ctm_auth.middleware.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's language and time zone win over the browser's.
    "accounts.middleware.PreferencesMiddleware",
    "mfa.middleware.OTPMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "mfa.middleware.PartialSignInMiddleware",
    "agencies.middleware.TwoFactorPolicyMiddleware",
    # A sign-in with a temporary access pass sets up a new primary method first.
    "mfa.access_pass.middleware.AccessPassSetUpMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ctm_auth.urls"
WSGI_APPLICATION = "ctm_auth.wsgi.application"
ASGI_APPLICATION = "ctm_auth.asgi.application"

TEMPLATES = [
    {
        # Django's backend, whose check allows the i18n library below.
        "BACKEND": "ctm_auth.template_i18n.DjangoTemplates",
        "NAME": "django",
        # Project templates come first, so they can override any app's.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ctm_auth.context_processors.navigation",
                "ctm_auth.context_processors.two_factor_banner",
            ],
            # |when and |day: the one date format (ctm_auth.dates), on every template.
            "builtins": ["accounts.templatetags.when"],
            # {% load i18n %}: Django's, with {% translate "a literal" %} kept per language.
            "libraries": {"i18n": "ctm_auth.template_i18n"},
        },
    },
]
# Django's renderer, with its <input> and <select> written in Python while
# their templates are Django's own (ctm_auth/form_renderer.py says why).
FORM_RENDERER = "ctm_auth.form_renderer.FormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # runserver and the outbox worker share the file: a writer waits for the
    # other's write (IMMEDIATE takes the write lock up front, so two
    # transactions never deadlock upgrading a read lock) instead of failing
    # with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # Shared by every app server: rate limits and policy caches must not live
    # in one process's memory once there is more than one process.
    CACHES = {
        "default": {
            "BACKEND": "ctm_auth.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "ctm-auth"),
            # An unreachable Redis must fail a request in a second, not hang
            # it: callers fall back to the database or answer 503.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "accounts:login"

# Argon2id first; the others only verify old hashes, which Django upgrades to
# the first hasher when their owner signs in.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "name")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 256}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sessions live in the database so sign-out, and an admin reset, can delete
# them server-side. The absolute lifetime is enforced by
# accounts.middleware.SessionTimeoutMiddleware together with the idle timeout.
# Reads from the cache, writes to the database first (accounts/session_store.py).
SESSION_ENGINE = "accounts.session_store"
ACCOUNTS_SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
ACCOUNTS_SESSION_MAX_AGE = env_int("SESSION_MAX_AGE", 12 * 60 * 60)
SESSION_COOKIE_AGE = ACCOUNTS_SESSION_MAX_AGE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "ctm_auth.views.csrf_failure"

# Field encryption (accounts.encryption): comma-separated Fernet keys, primary first.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")

# English is the source language; each catalog lives beside its code
# (accounts/locale, agencies/locale, mfa/locale) and the project's own
# templates' in locale/. A user's language preference wins over the browser's.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Read by pages before sign-in, and set from the Profile's language (accounts.middleware).
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
# DATE_FORMAT and DATETIME_FORMAT per language: the one date format (ctm_auth.dates).
FORMAT_MODULE_PATH = ["ctm_auth.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds the worker waits on the mail server (never a web request: emails go
# through the outbox). Django's default is to wait forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CallTrackingMetrics <no-reply@ctm-auth.localhost>")

# Text Messages gateway: "twilio", "console" or "outbox" (development.py
# defaults to "outbox"). Read here so every settings module honours it.
MFA_SMS_BACKEND = env_str("MFA_SMS_BACKEND", "twilio")
# Seconds the worker waits on Twilio's API.
MFA_SMS_TWILIO_TIMEOUT = float(env_str("TWILIO_TIMEOUT", "5"))

# --- The outbox and its workers (accounts.delivery, docs/operations.md) ----
# Production: a Celery worker and beat on the Redis broker. Without a broker,
# `manage.py outbox_worker` (started by `make run`) polls the table instead.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL
ACCOUNTS_DELIVERY_QUEUE = env_str("DELIVERY_QUEUE", "celery" if CELERY_BROKER_URL else "poll")
ACCOUNTS_DELIVERY_SWEEP_INTERVAL = float(env_str("DELIVERY_SWEEP_INTERVAL", "15"))
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, and a worker that dies mid-task hands it
# back; the outbox's claim makes a task run twice still send once.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "accounts.sweep_outbox", "schedule": ACCOUNTS_DELIVERY_SWEEP_INTERVAL},
    "prune-outbox": {"task": "accounts.prune_outbox", "schedule": 6 * 60 * 60},
    # Hourly: each reminder goes out in the first run of its day (agencies.PolicyReminder keeps it to once).
    "policy-reminders": {"task": "agencies.send_policy_reminders", "schedule": 60 * 60},
    "expire-access-passes": {"task": "mfa.access_pass.expire_passes", "schedule": 5 * 60},
}

# Number of reverse proxies in front of the app whose X-Forwarded-For entries
# we trust; 0 means REMOTE_ADDR is the client.
ACCOUNTS_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Passkeys: the domain keys are bound to and the origins allowed to use them
# (mfa.webauthn.app_settings). Required outside development.
MFA_WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "")
MFA_WEBAUTHN_ORIGINS = env_list("WEBAUTHN_ORIGINS", "")

CSP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
