"""Production: every secret from the environment, HTTPS only, strict headers."""
from django.core.exceptions import ImproperlyConfigured

from ctm_auth.env import env_int
from ctm_auth.settings.base import *  # noqa: F403
from ctm_auth.settings.base import DATABASES, FIELD_ENCRYPTION_KEYS, MIDDLEWARE, SECRET_KEY

DEBUG = False
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY in production.")
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS in production (see README).")

SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 63072000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

# Static files from the app servers themselves (WhiteNoise), under hashed,
# compressed names that may be cached for a year. Run `collectstatic` on deploy.
MIDDLEWARE = [
    *MIDDLEWARE[:MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1:],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Keep database connections between requests, and check one before reusing it
# so a restarted PostgreSQL costs one reconnect, not an error page.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A PostgreSQL that accepts connections but never answers (overloaded,
    # failing over) must cost a request seconds, not hold a worker until
    # gunicorn kills it: /readyz then names the database and pages answer 503.
    # A DATABASE_URL's ?connect_timeout= wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3))
    # DB_POOL_SIZE > 0: psycopg's pool (Django 5.2's OPTIONS["pool"]) instead
    # of one kept connection per worker, for threaded or async workers that
    # share a process. Django wants CONN_MAX_AGE = 0 with a pool.
    if env_int("DB_POOL_SIZE", 0) > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1, "max_size": env_int("DB_POOL_SIZE", 0), "timeout": env_int("DB_CONNECT_TIMEOUT", 3),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
