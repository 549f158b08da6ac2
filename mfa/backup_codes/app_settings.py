"""Settings of the Backup Codes method (override as MFA_BACKUP_CODES_<NAME>).

Read lazily, so tests can override them with the ``settings`` fixture.
"""
from ctm_auth.app_settings import PrefixedSettings
from mfa.app_settings import app_settings as mfa_settings


class AppSettings(PrefixedSettings):
    prefix = "MFA_BACKUP_CODES_"

    @property
    def COUNT(self) -> int:
        """How many codes one set holds."""
        return self._setting("COUNT", 10)

    @property
    def LOW_WARNING_THRESHOLD(self) -> int:
        """When this many codes or fewer remain, warn the user and link to "Regenerate"."""
        return self._setting("LOW_WARNING_THRESHOLD", 2)

    @property
    def THROTTLE_FACTOR(self) -> int:
        """Seconds of the first wait after a wrong code; doubles per failure. 0 disables."""
        return self._setting("THROTTLE_FACTOR", mfa_settings.THROTTLE_FACTOR)

    @property
    def HASH_KEY(self) -> str:
        """Key of the HMAC-SHA256 lookup hashes; empty means "derive from SECRET_KEY".

        A dedicated key lets SECRET_KEY rotate without touching the codes.
        """
        return self._setting("HASH_KEY", "")

    @property
    def HASH_KEY_FALLBACKS(self) -> list[str]:
        """Older lookup keys still accepted; empty means SECRET_KEY_FALLBACKS when HASH_KEY is unset.

        After rotating, ``manage.py rehash_backup_codes`` re-hashes every code
        under the current key, and the fallbacks can go.
        """
        return self._setting("HASH_KEY_FALLBACKS", [])

    @property
    def ISSUER(self) -> str:
        """Product name in the download's file name and heading (MFA_ISSUER)."""
        return mfa_settings.ISSUER


app_settings = AppSettings()
