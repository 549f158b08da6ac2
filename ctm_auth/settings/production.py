"""Production: every secret from the environment, HTTPS only, strict headers."""
from django.core.exceptions import ImproperlyConfigured

from ctm_auth.settings.base import *  # noqa: F403
from ctm_auth.settings.base import FIELD_ENCRYPTION_KEYS, SECRET_KEY

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
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
