"""Encryption at rest for MFA secrets (TOTP keys, backup codes).

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


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
        keys = [_derive_development_key(settings.SECRET_KEY)]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds an invalid Fernet key (32 url-safe base64 bytes)."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Return the plaintext; raise ImproperlyConfigured when no listed key fits."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret could not be decrypted: is its key missing from FIELD_ENCRYPTION_KEYS?"
        ) from exc


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
        return value if value is None or value == "" else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None or value == "" else encrypt(value)


def _clear_on_settings_change(*, setting: str, **kwargs) -> None:
    if setting in {"FIELD_ENCRYPTION_KEYS", "SECRET_KEY", "DEBUG"}:
        _fernet.cache_clear()


setting_changed.connect(_clear_on_settings_change)
