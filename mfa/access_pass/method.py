"""The temporary access pass as an MFA method: issued by an administrator, used once to sign in."""
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ctm_auth.dates import format_when
from mfa.access_pass import flows, gate
from mfa.access_pass.models import AccessPass, Status
from mfa.base import ChallengeContext, Method, VerifyResult
from mfa.base.method import Purpose


class AccessPassMethod(Method):
    key = "access_pass"
    label = gettext_lazy("Temporary access pass")
    is_primary = False
    urls_module = "mfa.access_pass.urls"
    alternative_label = gettext_lazy("Use a temporary access pass")
    code_input_mode = "text"  # letters and digits: a digit keypad could not type it
    answer_max_length = 40
    missing_answer_message = gettext_lazy("Enter the temporary access pass your administrator gave you.")
    # It lets its user set up a new method, nothing more.
    opens_step_up = False
    listed_on_profile = False
    state_columns = ("status", "expires_at", "settled_at")

    def user_facts(self) -> dict[str, QuerySet]:
        # Every sign-in asks whether a used pass still holds the user
        # (gate.on_user_logged_in): loaded with the user, it costs no query.
        return {"access_pass_unsettled": AccessPass.objects.filter(status=Status.USED, settled_at__isnull=True)}

    def all_active_devices(self, *, now=None) -> QuerySet:
        """Passes that still work: only those can answer step 2."""
        return AccessPass.objects.live(now=now)

    def status_detail(self, user) -> str:
        live = self.active_devices(user).first()
        if live is None:
            return ""
        return _("valid until %(when)s") % {"when": format_when(live.expires_at)}

    def begin_challenge(self, request: HttpRequest, user, *, purpose: Purpose, resend: bool = False) -> ChallengeContext:
        if purpose != "sign_in":
            return ChallengeContext("mfa/access_pass/challenge.html", notice=_(
                "A temporary access pass only works to sign in. Confirm it's you with another method."))
        return ChallengeContext("mfa/access_pass/challenge.html", notice=_(
            "Enter the temporary access pass your administrator gave you. It works once."))

    def verify(self, request: HttpRequest, user, code: str, *, purpose: Purpose) -> VerifyResult:
        return flows.verify_pass(request, user=user, code=code, purpose=purpose)

    def signed_in_with(self, request: HttpRequest, user, device) -> None:
        """Hold the session on the set-up page until a new primary method exists."""
        gate.require_set_up(request, device)

    def remove_all(self, user) -> int:
        """Revoke the user's active pass (a reset, or their last primary method gone); keep the rows' history."""
        return flows.revoke_all(user)
