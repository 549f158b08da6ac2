"""Backup Codes as an MFA method: a fallback that never counts as "two-factor enabled"."""
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mfa.backup_codes import flows, selectors
from mfa.backup_codes.models import BackupCodeSet
from mfa.base import ChallengeContext, Method, VerifyResult
from mfa.base.method import Purpose
from mfa.registry import has_primary_method


class BackupCodesMethod(Method):
    key = "backup_codes"
    label = _("Backup Codes")
    is_primary = False
    manage_url_name = "mfa:backup_codes:manage"
    urls_module = "mfa.backup_codes.urls"
    alternative_label = _("Use a backup code")
    code_input_mode = "text"  # codes hold letters; a digit keypad could not type them
    state_columns = ("confirmed", "replaced_at", "used_at")

    def all_active_devices(self, *, now=None) -> QuerySet:
        """Return the sets whose set-up finished and that hold a code left: only those can answer."""
        return BackupCodeSet.objects.usable()

    def device_identity(self, device) -> str:
        """Regenerated codes are a reset of the method: trust given before it ends."""
        return f"{device.persistent_id}|{device.generated_at.isoformat()}"

    def status_detail(self, user) -> str:
        summary = selectors.summary_for(user)
        return ngettext("%(remaining)d of %(total)d code remaining", "%(remaining)d of %(total)d codes remaining",
                        summary.remaining) % {"remaining": summary.remaining, "total": summary.total}

    def status_warning(self, user) -> str:
        """Warn on the Profile while a primary method is on but no code is left to fall back on."""
        if has_primary_method(user) and not self.is_active_for(user):
            return str(_("No backup codes: you could be locked out"))
        return ""

    def continue_first_set_up(self, request: HttpRequest, user) -> str:
        """Show the first set right after the first primary method, as GitHub does."""
        if flows.generate_after_first_primary(request, user=user) is None:
            return ""
        return reverse("mfa:backup_codes:new")

    def begin_challenge(
        self, request: HttpRequest, user, *, purpose: Purpose, resend: bool = False
    ) -> ChallengeContext:
        # Nothing is sent: the user reads a code off their saved list.
        return ChallengeContext("mfa/backup_codes/challenge.html", notice=str(_(
            "Enter one of your backup codes. Each code works once.")))

    def verify(self, request: HttpRequest, user, code: str, *, purpose: Purpose) -> VerifyResult:
        return flows.verify_code(request, user=user, code=code, purpose=purpose)

    def remove_all(self, user) -> int:
        """Destroy the user's set, codes and all; return how many sets were removed."""
        _total, per_model = BackupCodeSet.objects.filter(user=user).delete()
        return per_model.get(BackupCodeSet._meta.label, 0)
