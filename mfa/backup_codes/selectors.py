"""Read-only queries for the Backup Codes pages. Reading codes here audits nothing:
the flows that show codes to a person do the auditing."""
from dataclasses import dataclass
from datetime import datetime

from mfa.backup_codes.models import BackupCode, BackupCodeSet
from mfa.registry import has_primary_method


@dataclass(frozen=True)
class CodeRow:
    position: int
    code: str  # display form, "7hx4km-2q9pab"
    used_at: datetime | None

    @property
    def is_used(self) -> bool:
        return self.used_at is not None


@dataclass(frozen=True)
class SetSummary:
    """What the Add/Edit page shows about a user's backup codes."""

    has_primary: bool
    code_set: BackupCodeSet | None
    total: int
    remaining: int

    @property
    def is_set_up(self) -> bool:
        return self.code_set is not None and self.code_set.confirmed

    @property
    def is_pending(self) -> bool:
        return self.code_set is not None and not self.code_set.confirmed


def code_set_for(user) -> BackupCodeSet | None:
    """Return the user's set (confirmed or still being set up), or None."""
    if getattr(user, "pk", None) is None:
        return None
    return BackupCodeSet.objects.filter(user=user).first()


def current_codes(code_set: BackupCodeSet) -> list[BackupCode]:
    return list(code_set.codes.current())


def code_rows(code_set: BackupCodeSet) -> list[CodeRow]:
    """Return the set's codes, decrypted, in the order they were shown."""
    return [CodeRow(position=c.position, code=c.display, used_at=c.used_at) for c in current_codes(code_set)]


def remaining_count(code_set: BackupCodeSet | None) -> int:
    if code_set is None:
        return 0
    return code_set.codes.current().filter(used_at__isnull=True).count()


def summary_for(user) -> SetSummary:
    code_set = code_set_for(user)
    total = code_set.codes.current().count() if code_set else 0
    return SetSummary(
        has_primary=has_primary_method(user),
        code_set=code_set,
        total=total,
        remaining=remaining_count(code_set),
    )
