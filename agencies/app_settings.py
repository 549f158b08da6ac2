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

    @property
    def POLICY_IMPACT_LIST_SIZE(self) -> int:
        """Members the impact preview of a policy change lists by name (the rest are counted)."""
        return self._setting("POLICY_IMPACT_LIST_SIZE", 50)

    @property
    def POLICY_REMINDER_DAYS(self) -> tuple[int, ...]:
        """Days before the deadline on which a member without an allowed method is reminded."""
        return tuple(self._setting("POLICY_REMINDER_DAYS", (7, 3, 1)))

    @property
    def SITE_URL(self) -> str:
        """The site's address for links in emails sent without a request (reminders).

        Defaults to the first passkey origin (MFA_WEBAUTHN_ORIGINS), which is
        the address people sign in at.
        """
        from django.conf import settings

        origins = getattr(settings, "MFA_WEBAUTHN_ORIGINS", None) or [""]
        return self._setting("SITE_URL", origins[0]).rstrip("/")


app_settings = AppSettings()
