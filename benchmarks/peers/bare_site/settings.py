"""Bare Django: the same middleware minus ctm-auth's own, Django's password sign-in, no second factor."""
from benchmarks.peers.peer_settings import *  # noqa: F403
from benchmarks.peers.peer_settings import BASE_APPS, MIDDLEWARE_AFTER_AUTH, MIDDLEWARE_BEFORE_AUTH

INSTALLED_APPS = [*BASE_APPS, "benchmarks.peers.bare_site"]  # its login template
MIDDLEWARE = [*MIDDLEWARE_BEFORE_AUTH, *MIDDLEWARE_AFTER_AUTH]
ROOT_URLCONF = "benchmarks.peers.bare_site.urls"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/bench/trivial/"
