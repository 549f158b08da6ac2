"""Drain the outbox without a broker: the worker `make run` starts beside runserver.

Each turn it sends the rows that are due and, every
ACCOUNTS_DELIVERY_SWEEP_INTERVAL seconds, runs the sweep. It uses the same
engine as the Celery tasks, so what it does is what production does, only
woken by polling instead of by Redis.
"""
import signal
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from accounts.app_settings import app_settings
from accounts.delivery import engine
from ctm_auth.faults import DATABASE_ERRORS


class Command(BaseCommand):
    help = "Send outbox rows as they fall due (the zero-config worker; production runs Celery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between two looks at the table.")
        parser.add_argument("--once", action="store_true", help="Send what is due now, sweep, and stop.")

    def handle(self, *args, interval: float = 0.5, once: bool = False, **options) -> None:
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        last_sweep = 0.0
        if not once:
            self.stdout.write(f"Outbox worker: polling every {interval} s (Ctrl-C to stop).")
        while not stopping:
            try:
                if time.monotonic() - last_sweep >= app_settings.DELIVERY_SWEEP_INTERVAL or once:
                    engine.sweep()
                    last_sweep = time.monotonic()
                sent = engine.deliver_due()
            except DATABASE_ERRORS as exc:  # the database restarting: wait and go on
                self.stderr.write(f"Outbox worker: database unavailable ({type(exc).__name__}); retrying.")
                close_old_connections()
                sent = {}
                time.sleep(2)
            if sent:
                self.stdout.write("Outbox worker: " + ", ".join(f"{n} {what}" for what, n in sorted(sent.items())))
            if once:
                return
            time.sleep(interval)
