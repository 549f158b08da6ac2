"""ctm-auth as production runs it, plus only what measurement needs: the bench URLs and the host."""
from ctm_auth.settings.production import *  # noqa: F403

ROOT_URLCONF = "benchmarks.peers.ctm_urls"
ALLOWED_HOSTS = ["bench.example.com"]
