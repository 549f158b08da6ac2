"""Local development: DEBUG on, SQLite and the local-memory cache by default."""
import os

os.environ.setdefault("DEBUG", "true")

from ctm_auth.settings.base import *  # noqa: E402,F403

# A fixed key is fine on a developer machine only; production refuses to start
# without its own.
SECRET_KEY = SECRET_KEY or "django-insecure-ctm-auth-development-key-change-me"  # noqa: F405
ALLOWED_HOSTS = ALLOWED_HOSTS + ["[::1]", "testserver"]  # noqa: F405
# Passkeys take their relying party from the request's host when
# WEBAUTHN_RP_ID is unset (localhost here); production must name it.
MFA_WEBAUTHN_TRUST_REQUEST_HOST = True
MFA_SMS_BACKEND = os.environ.get("MFA_SMS_BACKEND", "outbox")  # texts go to /dev/sms-outbox/, no phone needed
