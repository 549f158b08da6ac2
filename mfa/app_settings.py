"""Settings of the mfa app, each with its default (override as MFA_<NAME>).

Read lazily, so tests can override them with ``settings`` fixtures.
"""
from ctm_auth.app_settings import PrefixedSettings


class AppSettings(PrefixedSettings):
    prefix = "MFA_"

    @property
    def METHODS(self) -> list[str]:
        """Dotted paths of the enabled Method classes, in display order."""
        return self._setting("METHODS", [])

    @property
    def REAUTH_WINDOW(self) -> int:
        """Seconds a step-up re-authentication stays valid for sensitive pages."""
        return self._setting("REAUTH_WINDOW", 10 * 60)

    @property
    def REAUTH_MEMBER_PAGE_WINDOW(self) -> int:
        """Seconds an administrator's step-up for a member's method page lasts.

        Within it the page opens once, and its buttons (Disable, View or
        Generate Backup Codes) keep working after it opened.
        """
        return self._setting("REAUTH_MEMBER_PAGE_WINDOW", 5 * 60)

    @property
    def PENDING_SIGN_IN_TIMEOUT(self) -> int:
        """Seconds a half-finished sign-in (password done, code not) stays usable."""
        return self._setting("PENDING_SIGN_IN_TIMEOUT", 10 * 60)

    @property
    def ISSUER(self) -> str:
        """Product name shown in authenticator apps, texts and emails."""
        return self._setting("ISSUER", "CallTrackingMetrics")

    @property
    def THROTTLE_FACTOR(self) -> int:
        """Seconds of the first wait after a wrong code; doubles per failure."""
        return self._setting("THROTTLE_FACTOR", 1)


app_settings = AppSettings()
