"""django-allauth 65.22 with allauth.mfa: email + password, then a TOTP authenticator."""
from benchmarks.peers.peer_settings import *  # noqa: F403
from benchmarks.peers.peer_settings import BASE_APPS, MIDDLEWARE_AFTER_AUTH, MIDDLEWARE_BEFORE_AUTH

INSTALLED_APPS = [*BASE_APPS, "allauth", "allauth.account", "allauth.mfa"]
MIDDLEWARE = [*MIDDLEWARE_BEFORE_AUTH, "allauth.account.middleware.AccountMiddleware", *MIDDLEWARE_AFTER_AUTH]
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
ROOT_URLCONF = "benchmarks.peers.allauth_site.urls"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "mfa_index"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
MFA_SUPPORTED_TYPES = ["totp"]
# Its rate limits stay on (they cost cache calls, as ours do); the load
# balancer's X-Forwarded-For names the client, as ours is configured.
ALLAUTH_TRUSTED_PROXY_COUNT = 1
MFA_TOTP_TOLERANCE = 1  # codes of the steps either side accepted, as ours and django-otp's (allauth's default is 0)
