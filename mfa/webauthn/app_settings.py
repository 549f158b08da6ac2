"""Settings of the passkeys and security keys method (override as MFA_WEBAUTHN_<NAME>).

The relying party (RP) is the site a passkey belongs to. Its id (a domain,
"app.example.com" or "example.com") is written into every key when it is
registered and can never change for that key, so production must name it:
mfa.webauthn.checks fails start-up checks when RP_ID or ORIGINS is missing.
In development (MFA_WEBAUTHN_TRUST_REQUEST_HOST = True, set by
settings/development.py) both default to the request's own host.
"""
from ctm_auth.app_settings import PrefixedSettings
from mfa.app_settings import app_settings as mfa_settings


class AppSettings(PrefixedSettings):
    prefix = "MFA_WEBAUTHN_"

    @property
    def RP_ID(self) -> str:
        """The relying party id: the domain keys are bound to ("" = the request's host, development only)."""
        return self._setting("RP_ID", "")

    @property
    def ORIGINS(self) -> list[str]:
        """The origins a ceremony may come from ("https://app.example.com"); empty = the request's, development only."""
        return list(self._setting("ORIGINS", []))

    @property
    def TRUST_REQUEST_HOST(self) -> bool:
        """Take the RP id and origin from the request when they are not set: development and tests only."""
        return self._setting("TRUST_REQUEST_HOST", False)

    @property
    def RP_NAME(self) -> str:
        """The name a browser shows when it asks to save or use a passkey."""
        return self._setting("RP_NAME", mfa_settings.ISSUER)

    @property
    def CHALLENGE_TIMEOUT(self) -> int:
        """Seconds a challenge stays usable (5 minutes); the browser's prompt times out with it."""
        return self._setting("CHALLENGE_TIMEOUT", 5 * 60)

    @property
    def MAX_KEYS_PER_USER(self) -> int:
        """How many passkeys and security keys one account may register."""
        return self._setting("MAX_KEYS_PER_USER", 20)

    @property
    def MAX_ANSWER_BYTES(self) -> int:
        """The longest JSON answer a browser may post; real ones are 1-3 KB."""
        return self._setting("MAX_ANSWER_BYTES", 16 * 1024)

    @property
    def MAX_CLIENT_DATA_BYTES(self) -> int:
        """The longest clientDataJSON accepted, decoded (browsers send ~200-400 bytes)."""
        return self._setting("MAX_CLIENT_DATA_BYTES", 2048)

    @property
    def MAX_AUTHENTICATOR_DATA_BYTES(self) -> int:
        """The longest authenticator data accepted, decoded (37 bytes plus a key and extensions)."""
        return self._setting("MAX_AUTHENTICATOR_DATA_BYTES", 4096)

    @property
    def FAILURES_PER_USER(self) -> tuple[int, int]:
        """(failed answers, seconds) per account at step 2 and step-up before a pause."""
        return tuple(self._setting("FAILURES_PER_USER", (10, 15 * 60)))


app_settings = AppSettings()
