"""Password hashing parameters."""
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's Password Storage Cheat Sheet parameters.

    OWASP's baseline is m=19 MiB, t=2, p=1. We keep that memory and time cost;
    Django's own defaults (100 MiB, p=8) would make every sign-in reserve
    100 MiB, which invites a memory-exhaustion attack on a 2-core box. Hashes
    made with other parameters are re-hashed on the next successful sign-in
    (Django calls must_update()).
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
