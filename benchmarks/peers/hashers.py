"""The peers' password hasher: Argon2id with ctm-auth's parameters (accounts/hashers.py), copied.

Copied rather than imported so the peer sites need nothing from ctm-auth.
"""
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB: m=19 MiB, as ours
    parallelism = 1
