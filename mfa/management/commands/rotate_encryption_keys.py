"""Re-encrypt every encrypted field with the primary key of FIELD_ENCRYPTION_KEYS."""
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from mfa.encryption import EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypt every EncryptedTextField value under the first key in "
        "FIELD_ENCRYPTION_KEYS. Afterwards the old keys can be removed."
    )

    def handle(self, *args, **options) -> None:
        total = 0
        for model in apps.get_models():
            columns = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if columns:
                total += self._rotate_model(model, columns)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} row(s)."))

    @staticmethod
    def _rotate_model(model, columns: list[str]) -> int:
        """Decrypt with any listed key and write back, which encrypts with the primary."""
        count = 0
        with transaction.atomic():
            rows = model._base_manager.select_for_update().values("pk", *columns)
            for row in rows.iterator():
                pk = row.pop("pk")
                model._base_manager.filter(pk=pk).update(**row)
                count += 1
        return count
