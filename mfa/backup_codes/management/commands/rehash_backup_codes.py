"""Re-hash every current backup code under the current lookup key.

Run after rotating MFA_BACKUP_CODES_HASH_KEY (or SECRET_KEY, when that key is
derived from it); afterwards the fallback keys can be removed without
breaking anyone's codes. Possible only because codes are stored encrypted.
"""
from django.core.management.base import BaseCommand
from django.db import transaction

from mfa.backup_codes import codes
from mfa.backup_codes.models import BackupCode


class Command(BaseCommand):
    help = "Re-compute the lookup hash of every current backup code under the current key."

    def handle(self, *args, **options) -> None:
        count = 0
        with transaction.atomic():
            rows = BackupCode.objects.current().select_for_update().select_related("code_set")
            for row in rows.iterator():
                BackupCode.objects.filter(pk=row.pk).update(lookup=codes.lookup_hash(row.code_set.user_id, row.code))
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-hashed {count} backup code(s)."))
