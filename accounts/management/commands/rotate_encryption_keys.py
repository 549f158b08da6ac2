"""Re-encrypt every encrypted field with the primary key of FIELD_ENCRYPTION_KEYS."""
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.encryption import EncryptedTextField

BATCH_SIZE = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every EncryptedTextField value under the first key in "
        "FIELD_ENCRYPTION_KEYS. Afterwards the old keys can be removed."
    )

    def handle(self, *args, **options) -> None:
        total = 0
        for model in apps.get_models():
            columns = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not columns:
                continue
            try:
                count = self._rotate_model(model, columns)
            except ImproperlyConfigured as exc:
                # Each model is rotated in its own transaction, so a rerun after
                # fixing the keys simply finishes the job.
                raise CommandError(f"{model._meta.label}: {exc}") from None
            self.stdout.write(f"{model._meta.label}: {count} row(s)")
            total += count
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} row(s)."))

    @staticmethod
    def _rotate_model(model, columns: list[str]) -> int:
        """Decrypt with any listed key and write back, which encrypts with the primary.

        The primary keys are read first and rows are rewritten in batches, so
        the loop never writes to the table while a cursor over it is open.
        """
        manager = model._base_manager
        with transaction.atomic():
            pks = list(manager.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), BATCH_SIZE):
                batch = pks[start:start + BATCH_SIZE]
                rows = list(manager.select_for_update().filter(pk__in=batch).values("pk", *columns))
                for row in rows:
                    manager.filter(pk=row.pop("pk")).update(**row)
        return len(pks)
