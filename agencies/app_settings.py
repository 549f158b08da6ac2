"""Settings of the agencies app, each with its default (override as AGENCIES_<NAME>)."""
from ctm_auth.app_settings import PrefixedSettings


class AppSettings(PrefixedSettings):
    prefix = "AGENCIES_"

    @property
    def POLICY_ALLOWED_URL_NAMES(self) -> frozenset[str]:
        """Pages a user forced to set up two-factor may still open."""
        return frozenset(self._setting("POLICY_ALLOWED_URL_NAMES", (
            "accounts:logout", "accounts:reauthenticate", "accounts:two_factor_required",
            "accounts:login_verify", "sms_outbox", "sms_delivery_status",
        )))

    @property
    def POLICY_ALLOWED_NAMESPACES(self) -> frozenset[str]:
        """URL namespaces a forced user may open: the method set-up pages."""
        return frozenset(self._setting("POLICY_ALLOWED_NAMESPACES", ("mfa",)))

    @property
    def MANAGE_USERS_PAGE_SIZE(self) -> int:
        return self._setting("MANAGE_USERS_PAGE_SIZE", 50)

    @property
    def SECURITY_LOG_PAGE_SIZE(self) -> int:
        return self._setting("SECURITY_LOG_PAGE_SIZE", 50)

    @property
    def POLICY_EMAIL_BATCH_SIZE(self) -> int:
        """Emails per SMTP connection when the policy is announced."""
        return self._setting("POLICY_EMAIL_BATCH_SIZE", 100)


app_settings = AppSettings()
