"""Drain the outbox without a broker: the worker `make run` starts beside runserver.

Each turn it sends the rows that are due and, every
ACCOUNTS_DELIVERY_SWEEP_INTERVAL seconds, runs the sweep. It uses the same
engine as the Celery tasks, so what it does is what production does, only
woken by polling instead of by Redis.

There is no Celery beat beside it either, so it also runs the beat
schedule's other jobs (CELERY_BEAT_SCHEDULE: the two-factor reminders, the
expiry of temporary access passes, the outbox pruning) on their intervals,
in this process, as the same task functions.
"""
import signal
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from accounts.app_settings import app_settings
from accounts.delivery import engine
from accounts.delivery.queues import SWEEP_TASK
from ctm_auth.faults import DATABASE_ERRORS


class PeriodicJob:
    """One CELERY_BEAT_SCHEDULE entry, due every ``interval`` seconds."""

    def __init__(self, task, interval: float):
        self.task, self.interval, self.last_run = task, interval, None

    def due(self, now: float) -> bool:
        return self.last_run is None or now - self.last_run >= self.interval

    def run(self, now: float) -> None:
        self.task()
        self.last_run = now


def periodic_jobs() -> list[PeriodicJob]:
    """The beat schedule but the sweep (run above), as jobs of this process."""
    from ctm_auth.celery import app

    app.loader.import_default_modules()  # registers every app's tasks, as a worker's start does
    jobs = []
    for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values():
        schedule = entry["schedule"]
        interval = schedule.total_seconds() if isinstance(schedule, timedelta) else schedule
        if entry["task"] != SWEEP_TASK and isinstance(interval, (int, float)):
            jobs.append(PeriodicJob(app.tasks[entry["task"]], float(interval)))
    return jobs


class Command(BaseCommand):
    help = "Send outbox rows as they fall due (the zero-config worker; production runs Celery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between two looks at the table.")
        parser.add_argument("--once", action="store_true", help="Send what is due now, sweep, and stop.")

    def handle(self, *args, interval: float = 0.5, once: bool = False, **options) -> None:
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        last_sweep = 0.0
        jobs = periodic_jobs()
        if not once:
            self.stdout.write(f"Outbox worker: polling every {interval} s (Ctrl-C to stop).")
        while not stopping:
            try:
                if time.monotonic() - last_sweep >= app_settings.DELIVERY_SWEEP_INTERVAL or once:
                    engine.sweep()
                    last_sweep = time.monotonic()
                for job in jobs:
                    if job.due(time.monotonic()):
                        job.run(time.monotonic())
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
