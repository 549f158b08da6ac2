"""Google Authenticator as an MFA method (the registry's "totp")."""
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ctm_auth.dates import format_day
from mfa.base.method import ChallengeContext, Method, Purpose, VerifyResult
from mfa.registry import user_value
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

    def user_values(self) -> dict[str, QuerySet]:
        # The Profile's status line, loaded with the user: no query of its own.
        # confirmed_at is set with confirmed, a state column.
        return {"totp_set_up_at": TOTPDevice.objects.filter(confirmed=True).order_by("-confirmed_at", "-pk")
                .values("confirmed_at")}

    def status_detail(self, user) -> str:
        set_up_at = user_value(user, "totp_set_up_at")
        if set_up_at is None:
            return ""
        return _("set up %(date)s") % {"date": format_day(set_up_at)}

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
