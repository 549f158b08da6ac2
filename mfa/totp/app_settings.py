"""Settings of the Google Authenticator method (override as MFA_TOTP_<NAME>).

Read lazily, so tests can override them with the ``settings`` fixture.
Digits and step are copied onto each device when it is created, so changing
them later never breaks an authenticator that is already set up.
"""
from ctm_auth.app_settings import PrefixedSettings
from mfa.app_settings import app_settings as mfa_settings


class AppSettings(PrefixedSettings):
    prefix = "MFA_TOTP_"

    @property
    def DIGITS(self) -> int:
        """Digits per code. Google Authenticator only shows 6 for otpauth URIs."""
        return self._setting("DIGITS", 6)

    @property
    def STEP(self) -> int:
        """Seconds per time-step (RFC 6238 X); authenticator apps assume 30."""
        return self._setting("STEP", 30)

    @property
    def TOLERANCE(self) -> int:
        """Time-steps accepted on each side of the expected one (clock drift).

        The remembered drift is capped at this value too, so the window always
        contains the server's own time-step.
        """
        return self._setting("TOLERANCE", 1)

    @property
    def SETUP_TIMEOUT(self) -> int:
        """Seconds a pending (unconfirmed) set-up stays usable."""
        return self._setting("SETUP_TIMEOUT", 10 * 60)

    @property
    def THROTTLE_FACTOR(self) -> int:
        """Seconds of the first wait after a wrong code; doubles per failure. 0 disables."""
        return self._setting("THROTTLE_FACTOR", mfa_settings.THROTTLE_FACTOR)

    @property
    def ISSUER(self) -> str:
        """Name the authenticator app shows above the code (MFA_ISSUER)."""
        return mfa_settings.ISSUER


app_settings = AppSettings()
