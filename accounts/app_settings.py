"""Settings of the accounts app, each with its default (override as ACCOUNTS_<NAME>)."""
from ctm_auth.app_settings import PrefixedSettings


class AppSettings(PrefixedSettings):
    prefix = "ACCOUNTS_"

    @property
    def SESSION_IDLE_TIMEOUT(self) -> int:
        """Seconds of inactivity after which a session ends."""
        return self._setting("SESSION_IDLE_TIMEOUT", 30 * 60)

    @property
    def SESSION_MAX_AGE(self) -> int:
        """Seconds after sign-in at which a session ends, however active."""
        return self._setting("SESSION_MAX_AGE", 12 * 60 * 60)

    @property
    def LOGIN_FAILURES_PER_ACCOUNT(self) -> tuple[int, int]:
        """(failures, window in seconds) allowed for one email address."""
        return self._setting("LOGIN_FAILURES_PER_ACCOUNT", (10, 15 * 60))

    @property
    def KNOWN_DEVICE_COOKIE_NAME(self) -> str:
        """Cookie that marks a browser the user signed in from (its own failure budget)."""
        return self._setting("KNOWN_DEVICE_COOKIE_NAME", "ctm_known_device")

    @property
    def KNOWN_DEVICE_MAX_AGE(self) -> int:
        """Seconds a known-device cookie is honoured after the sign-in that set it."""
        return self._setting("KNOWN_DEVICE_MAX_AGE", 365 * 24 * 60 * 60)

    @property
    def LOGIN_FAILURES_PER_IP(self) -> tuple[int, int]:
        """(failures, window in seconds) allowed from one client IP."""
        return self._setting("LOGIN_FAILURES_PER_IP", (50, 15 * 60))

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:
        """How many reverse proxies append to X-Forwarded-For in front of us."""
        return self._setting("TRUSTED_PROXY_COUNT", 0)

    @property
    def SIGN_IN_ACTIVITY_LIMIT(self) -> int:
        """How many recent sign-in attempts the profile lists."""
        return self._setting("SIGN_IN_ACTIVITY_LIMIT", 20)


app_settings = AppSettings()
