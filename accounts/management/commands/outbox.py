"""Read the outbox: how many rows are in each state, and the pending, failed and dead ones with their last error."""
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count

from accounts.app_settings import app_settings
from accounts.delivery import engine
from accounts.models import Delivery, DeliveryState

LISTED_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED, DeliveryState.DEAD)


def masked(recipient: str) -> str:
    """Enough of the recipient to recognise it, not to harvest it: "a…@example.com", "•••2671"."""
    if "@" in recipient:
        name, _at, domain = recipient.partition("@")
        return f"{name[:1]}…@{domain}"
    return f"•••{recipient[-4:]}"


class Command(BaseCommand):
    help = ("Show the outbox: counts per channel and state, then the pending, sending, failed and dead rows "
            "with their last error. --retry sends failed or dead emails again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--state", choices=[state.value for state in DeliveryState],
                            help="List only rows in this state.")
        parser.add_argument("--limit", type=int, default=50, help="Rows to list (newest first).")
        parser.add_argument("--retry", type=int, nargs="+", metavar="ID",
                            help="Queue these failed or dead emails again (texts cannot be: their code expired).")
        parser.add_argument("--sweep", action="store_true", help="Run the sweep once (re-queue lost rows).")

    def handle(self, *args, state=None, limit=50, retry=None, sweep=False, **options) -> None:
        if retry:
            queued = engine.retry_final(retry, valid_for=app_settings.EMAIL_DEADLINE)
            skipped = sorted(set(retry) - set(queued))
            self.stdout.write(f"Queued again: {queued or 'none'}")
            if skipped:
                self.stdout.write(f"Not queued (not failed/dead, or a text whose code is gone): {skipped}")
            return
        if sweep:
            result = engine.sweep()
            self.stdout.write(f"Sweep: {result.requeued} re-queued, {result.recovered} recovered from a lost "
                              f"worker, {result.expired} given up past their deadline.")
        self._counts()
        self._rows(state, limit)

    def _counts(self) -> None:
        counts = (Delivery.objects.values("channel", "state").annotate(rows=Count("pk")).order_by("channel", "state"))
        self.stdout.write("channel  state     rows")
        for row in counts:
            self.stdout.write(f"{row['channel']:<8} {row['state']:<9} {row['rows']}")

    def _rows(self, state: str | None, limit: int) -> None:
        rows = Delivery.objects.filter(state=state) if state else Delivery.objects.filter(state__in=LISTED_STATES)
        rows = rows.order_by("-created_at", "-pk")[:limit]
        self.stdout.write("")
        self.stdout.write("id       channel  state    tries  created              next try             "
                          "to                  kind / last error")
        for row in rows:
            next_try = f"{row.next_attempt_at:%Y-%m-%d %H:%M:%S}" if not row.is_final else "-"
            error = f"  [{row.last_error} {row.last_error_detail or ''}]".rstrip() if row.last_error else ""
            self.stdout.write(
                f"{row.pk:<8} {row.channel:<8} {row.state:<8} {row.attempts:<6} {row.created_at:%Y-%m-%d %H:%M:%S}  "
                f"{next_try:<20} {masked(row.to):<19} {row.kind}{error}"
            )
