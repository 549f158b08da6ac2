"""Google Authenticator as an MFA method (the registry's "totp")."""
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ctm_auth.dates import format_day
from mfa.base.method import ChallengeContext, Method, Purpose, VerifyResult
from mfa.registry import active_devices_of
from mfa.totp import flows
from mfa.totp.app_settings import app_settings
from mfa.totp.models import TOTPDevice


class TOTPMethod(Method):
    key = "totp"
    label = gettext_lazy("Google Authenticator")
    is_primary = True
    manage_url_name = "mfa:totp:manage"
    urls_module = "mfa.totp.urls"
    alternative_label = gettext_lazy("Use Google Authenticator")
    can_resend = False  # the app shows a new code every 30 seconds by itself

    def all_active_devices(self, *, now=None) -> QuerySet:
        return TOTPDevice.objects.filter(confirmed=True)

    def status_detail(self, user) -> str:
        device = next(iter(active_devices_of(user, self)), None)  # one device at most
        if device is None or device.confirmed_at is None:
            return ""
        return _("set up %(date)s") % {"date": format_day(device.confirmed_at)}

    def begin_challenge(self, request, user, *, purpose: Purpose, resend: bool = False) -> ChallengeContext:
        # Nothing to send: the code is on the user's phone already.
        return ChallengeContext(
            "mfa/totp/challenge.html",
            notice=_("Open your authenticator app and enter the %(digits)d-digit code shown for this account.")
            % {"digits": app_settings.DIGITS},
        )

    def verify(self, request, user, code: str, *, purpose: Purpose) -> VerifyResult:
        return flows.verify_code(request, user=user, code=code, purpose=purpose)

    def remove_all(self, user) -> int:
        """Delete the active device and any pending set-up (used by admin resets too)."""
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        return deleted
