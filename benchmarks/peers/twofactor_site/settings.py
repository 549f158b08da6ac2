"""django-two-factor-auth 1.18: its standard login wizard, a TOTP device (django-otp's otp_totp)."""
from benchmarks.peers.peer_settings import *  # noqa: F403
from benchmarks.peers.peer_settings import BASE_APPS, MIDDLEWARE_AFTER_AUTH, MIDDLEWARE_BEFORE_AUTH

INSTALLED_APPS = [
    *BASE_APPS,
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
]
MIDDLEWARE = [*MIDDLEWARE_BEFORE_AUTH, "django_otp.middleware.OTPMiddleware", *MIDDLEWARE_AFTER_AUTH]
ROOT_URLCONF = "benchmarks.peers.twofactor_site.urls"
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "two_factor:profile"
