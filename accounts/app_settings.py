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
    def SESSION_CACHE_SECONDS(self) -> int:
        """Seconds a session's cached copy is read before the database is asked again (accounts.session_store)."""
        return self._setting("SESSION_CACHE_SECONDS", 5 * 60)

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

    @property
    def LOGIN_WARNING_ATTEMPTS_LEFT(self) -> int:
        """Warn on the sign-in page once this many attempts, or fewer, are left before a pause."""
        return self._setting("LOGIN_WARNING_ATTEMPTS_LEFT", 2)

    # --- forgot password (accounts.password_reset) ----------------------------

    @property
    def PASSWORD_RESET_TIMEOUT(self) -> int:
        """Seconds an emailed reset link works (Django's PASSWORD_RESET_TIMEOUT still caps it)."""
        return self._setting("PASSWORD_RESET_TIMEOUT", 60 * 60)

    @property
    def PASSWORD_RESET_REQUESTS_PER_ACCOUNT(self) -> tuple[int, int]:
        """(requests, window in seconds) for one email address, known or not: no mail-bombing."""
        return self._setting("PASSWORD_RESET_REQUESTS_PER_ACCOUNT", (3, 60 * 60))

    @property
    def PASSWORD_RESET_REQUESTS_PER_IP(self) -> tuple[int, int]:
        """(requests, window in seconds) from one client IP, across every address it tries."""
        return self._setting("PASSWORD_RESET_REQUESTS_PER_IP", (20, 60 * 60))

    # --- trusted browsers (accounts.trusted_browsers) ------------------------

    @property
    def TRUSTED_BROWSER_DAYS(self) -> int:
        """Days "Don't ask for a code on this browser" lasts; 0 turns the offer off."""
        return self._setting("TRUSTED_BROWSER_DAYS", 30)

    @property
    def TRUSTED_BROWSER_COOKIE_NAME(self) -> str:
        """The trust cookie's name; "__Host-" is put in front when SESSION_COOKIE_SECURE is on."""
        return self._setting("TRUSTED_BROWSER_COOKIE_NAME", "ctm_trusted_browser")

    # --- preferences (accounts.preferences) -----------------------------------

    @property
    def AGENCY_TIME_ZONE(self) -> str:
        """Dotted path of ``f(user) -> str``: the zone of the user's agency ("" for none), used when the
        user chose none. Empty: the site's TIME_ZONE."""
        return self._setting("AGENCY_TIME_ZONE", "agencies.preferences.agency_time_zone")

    # --- the outbox (accounts.delivery) ---------------------------------------

    @property
    def DELIVERY_QUEUE(self) -> str:
        """What wakes the worker after a commit: "celery" (production), "poll" or "inline".

        "poll": nothing; ``manage.py outbox_worker`` finds due rows itself (the
        zero-config set-up). "inline": the row is sent in this process right
        after the commit, like Celery's eager mode (tests only: a request
        would wait on the gateway).
        """
        return self._setting("DELIVERY_QUEUE", "poll")

    @property
    def DELIVERY_CHANNELS(self) -> dict[str, str]:
        """Channel name -> dotted path of its accounts.delivery.Channel class."""
        return self._setting("DELIVERY_CHANNELS", {
            "email": "accounts.delivery.email.EmailChannel",
            "sms": "mfa.sms.delivery.SMSChannel",
        })

    @property
    def DELIVERY_LEASE(self) -> int:
        """Seconds a worker holds a claimed row; a longer silence means it died and the sweep takes over.

        Must exceed the longest send (EMAIL_TIMEOUT, MFA_SMS_TWILIO_TIMEOUT), or
        a slow send could be claimed a second time.
        """
        return self._setting("DELIVERY_LEASE", 120)

    @property
    def DELIVERY_SWEEP_GRACE(self) -> int:
        """Seconds a due row may wait for its task before the sweep queues it again."""
        return self._setting("DELIVERY_SWEEP_GRACE", 30)

    @property
    def DELIVERY_SWEEP_INTERVAL(self) -> float:
        """Seconds between two sweeps (Celery beat, or the poll worker's loop)."""
        return self._setting("DELIVERY_SWEEP_INTERVAL", 15.0)

    @property
    def DELIVERY_BATCH_SIZE(self) -> int:
        """Rows one task sends over one connection (an announcement to many members)."""
        return self._setting("DELIVERY_BATCH_SIZE", 100)

    @property
    def DELIVERY_RETENTION_DAYS(self) -> int:
        """Days a sent, failed, dead or dropped row stays listed before the daily prune deletes it."""
        return self._setting("DELIVERY_RETENTION_DAYS", 30)

    @property
    def EMAIL_DEADLINE(self) -> int:
        """Seconds an account notice keeps being retried before it is given up."""
        return self._setting("EMAIL_DEADLINE", 24 * 60 * 60)

    @property
    def EMAIL_RETRY_BASE(self) -> int:
        """Seconds before an email's first retry; each later wait doubles."""
        return self._setting("EMAIL_RETRY_BASE", 30)

    @property
    def EMAIL_RETRY_CAP(self) -> int:
        """Longest wait between two tries of an email."""
        return self._setting("EMAIL_RETRY_CAP", 60 * 60)


app_settings = AppSettings()
