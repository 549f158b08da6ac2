"""Settings of the Text Messages method (override as MFA_SMS_<NAME>), with defaults.

Read lazily, so tests can override them with the ``settings`` fixture. The
Twilio credentials keep Twilio's own names (TWILIO_ACCOUNT_SID, ...) and are
read from Django settings first, then from the environment, so a deployment
can configure them without a settings change.
"""
import os

from django.conf import settings

from ctm_auth.app_settings import PrefixedSettings
from mfa.app_settings import app_settings as mfa_settings

# Short names for the built-in gateways; any other value is a dotted path.
BACKEND_ALIASES = {
    "twilio": "mfa.sms.gateways.twilio.TwilioGateway",
    "console": "mfa.sms.gateways.console.ConsoleGateway",
    "outbox": "mfa.sms.gateways.outbox.OutboxGateway",
}


class AppSettings(PrefixedSettings):
    prefix = "MFA_SMS_"

    @staticmethod
    def _twilio(name: str) -> str:
        return getattr(settings, name, None) or os.environ.get(name, "")

    @property
    def BACKEND(self) -> str:
        """"twilio", "console", "outbox" or a dotted path to a gateway class (like EMAIL_BACKEND)."""
        return self._setting("BACKEND", "twilio")

    @property
    def ALLOWED_COUNTRIES(self) -> list[str] | None:
        """ISO 3166 region codes ("US", "GB") numbers may belong to; None allows every country."""
        countries = self._setting("ALLOWED_COUNTRIES", None)
        return [code.upper() for code in countries] if countries else None

    @property
    def CODE_VALIDITY(self) -> int:
        """Seconds a texted code stays usable."""
        return self._setting("CODE_VALIDITY", 5 * 60)

    @property
    def MAX_ATTEMPTS(self) -> int:
        """Wrong tries after which a code is dead and a new one must be requested."""
        return self._setting("MAX_ATTEMPTS", 5)

    @property
    def RETRY_BASE(self) -> float:
        """Seconds before the worker tries a text again after a transient failure (then 2x, 4x, ...)."""
        return self._setting("RETRY_BASE", 5.0)

    @property
    def SEND_ATTEMPTS(self) -> int:
        """Tries the worker gives one text before giving up (never past the code's validity)."""
        return self._setting("SEND_ATTEMPTS", 5)

    @property
    def RESEND_COOLDOWN(self) -> int:
        """Seconds between two texts to one user ("Resend code" counts down)."""
        return self._setting("RESEND_COOLDOWN", 30)

    @property
    def USER_LIMIT(self) -> tuple[int, int]:
        """(texts, window in seconds) one user may receive."""
        return tuple(self._setting("USER_LIMIT", (5, 15 * 60)))

    @property
    def NUMBER_DAILY_LIMIT(self) -> int:
        """Texts per day to one phone number, whoever asks (SMS pumping)."""
        return self._setting("NUMBER_DAILY_LIMIT", 10)

    @property
    def IP_DAILY_LIMIT(self) -> int:
        """Texts per day requested from one client IP address."""
        return self._setting("IP_DAILY_LIMIT", 30)

    @property
    def AGENCY_DAILY_LIMIT(self) -> int:
        """Texts per day to all users of one agency together (caps the bill)."""
        return self._setting("AGENCY_DAILY_LIMIT", 500)

    @property
    def CHANGE_NUMBER_WINDOW(self) -> int:
        """Seconds, after the current number was confirmed, to confirm a new one."""
        return self._setting("CHANGE_NUMBER_WINDOW", 10 * 60)

    @property
    def CODE_HMAC_KEY(self) -> str:
        """Key for the codes' keyed hashes; by default derived from SECRET_KEY."""
        return self._setting("CODE_HMAC_KEY", "") or settings.SECRET_KEY

    @property
    def ORIGIN_HOST(self) -> str:
        """Host in the texts' "@host #code" line; by default the request's host."""
        return self._setting("ORIGIN_HOST", "")

    @property
    def ISSUER(self) -> str:
        """Product name in the text (MFA_ISSUER)."""
        return mfa_settings.ISSUER

    @property
    def TWILIO_TIMEOUT(self) -> float:
        """Seconds the Twilio SDK waits for Twilio's answer (in the worker, never a web request)."""
        return self._setting("TWILIO_TIMEOUT", 5.0)

    @property
    def TWILIO_ACCOUNT_SID(self) -> str:
        return self._twilio("TWILIO_ACCOUNT_SID")

    @property
    def TWILIO_AUTH_TOKEN(self) -> str:
        return self._twilio("TWILIO_AUTH_TOKEN")

    @property
    def TWILIO_FROM_NUMBER(self) -> str:
        return self._twilio("TWILIO_FROM_NUMBER")

    @property
    def TWILIO_MESSAGING_SERVICE_SID(self) -> str:
        """Used instead of TWILIO_FROM_NUMBER when set (Twilio picks the sender)."""
        return self._twilio("TWILIO_MESSAGING_SERVICE_SID")

    @property
    def TWILIO_API_BASE_URL(self) -> str:
        """Scheme and host that replace https://api.twilio.com (a regional edge, a test fake)."""
        return self._twilio("TWILIO_API_BASE_URL")


app_settings = AppSettings()
