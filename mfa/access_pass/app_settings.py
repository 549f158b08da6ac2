"""Settings of the temporary access pass (override as MFA_ACCESS_PASS_<NAME>).

Read lazily, so tests can override them with the ``settings`` fixture.
"""
from ctm_auth.app_settings import PrefixedSettings
from mfa.app_settings import app_settings as mfa_settings


class AppSettings(PrefixedSettings):
    prefix = "MFA_ACCESS_PASS_"

    @property
    def THROTTLE_FACTOR(self) -> int:
        """Seconds of the first wait after a wrong pass; doubles per failure. 0 disables."""
        return self._setting("THROTTLE_FACTOR", mfa_settings.THROTTLE_FACTOR)

    @property
    def SET_UP_URL_NAMES(self) -> frozenset[str]:
        """The pages of each primary method's set-up that a pass's user may open before anything else.

        Only set-up: a method's Disable or Remove stays behind step-up, which
        a pass does not open. A page counts only while the agency policy
        allows its method (the namespace after "mfa:" is the method key).
        """
        return frozenset(self._setting("SET_UP_URL_NAMES", (
            "mfa:totp:manage", "mfa:totp:start", "mfa:totp:setup", "mfa:totp:cancel",
            "mfa:sms:manage", "mfa:sms:verify", "mfa:sms:cancel", "mfa:sms:change_start", "mfa:sms:change_number",
            "mfa:webauthn:manage", "mfa:webauthn:add",
        )))

    @property
    def SET_UP_HELPER_URL_NAMES(self) -> frozenset[str]:
        """Pages the set-up pages themselves use (a text's delivery status, the Dev SMS outbox)."""
        return frozenset(self._setting("SET_UP_HELPER_URL_NAMES", ("sms_outbox", "sms_delivery_status")))


app_settings = AppSettings()
