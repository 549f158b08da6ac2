"""Encryption at rest for secrets (TOTP keys, backup codes, queued texts).

Fernet gives authenticated encryption; MultiFernet lets keys rotate: the
first key in FIELD_ENCRYPTION_KEYS encrypts, every listed key decrypts, and
``manage.py rotate_encryption_keys`` re-encrypts rows under the first key.
"""
import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

_DEV_KEY_INFO = b"ctm-auth field encryption (development only)"


def _derive_development_key(secret_key: str) -> bytes:
    """Derive a Fernet key from SECRET_KEY, for DEBUG set-ups with no keys configured."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DEV_KEY_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


GENERATE_KEY_HINT = (
    'Make a key with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def configured_keys() -> list[str]:
    """Return FIELD_ENCRYPTION_KEYS as a list, primary first (a comma-separated string also works)."""
    keys = settings.FIELD_ENCRYPTION_KEYS
    if isinstance(keys, str):
        keys = keys.split(",")
    return [key.strip() for key in keys if key and key.strip()]


@functools.cache
def _fernet() -> MultiFernet:
    keys: list[str | bytes] = list(configured_keys())
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS must be set when DEBUG is off. {GENERATE_KEY_HINT}"
            )
        keys = [_derive_development_key(settings.SECRET_KEY)]
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # The key itself stays out of the message: error pages and logs are not a safe place for it.
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {position} of {len(keys)} is not a valid Fernet key "
                f"(32 url-safe base64-encoded bytes). {GENERATE_KEY_HINT}"
            ) from None
    return MultiFernet(fernets)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str, *, where: str = "A stored secret") -> str:
    """Return the plaintext; raise ImproperlyConfigured when no listed key fits.

    ``where`` names the column in the message, so an operator knows which
    rows were written under a key that has since been removed.
    """
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # "from None": the cause is always "no key fits", and Fernet's own
        # frames would only bury that under a stack of cryptography internals.
        raise ImproperlyConfigured(
            f"{where} could not be decrypted with any key in FIELD_ENCRYPTION_KEYS. Its key was "
            "probably removed too early: put the old key back after the primary key, run "
            "`manage.py rotate_encryption_keys`, and only then remove it (docs/operations.md)."
        ) from None


def rotate(token: str) -> str:
    """Return ``token`` re-encrypted under the primary key."""
    return _fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code sees the plaintext.

    Encrypted values cannot be searched or compared in SQL. Look rows up by
    another column (for backup codes, a keyed hash).
    """

    description = "Text encrypted at rest with Fernet"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value, where=f"{self.model._meta.label}.{self.name}")

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None or value == "" else encrypt(value)


def _clear_on_settings_change(*, setting: str, **kwargs) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "SECRET_KEY", "DEBUG"}:
        _fernet.cache_clear()


setting_changed.connect(_clear_on_settings_change)
