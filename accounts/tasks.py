"""Celery tasks of the outbox. Each only calls accounts.delivery.engine."""
from celery import shared_task

from accounts.app_settings import app_settings
from accounts.delivery import engine
from accounts.delivery.queues import DELIVER_TASK, SWEEP_TASK
from accounts.ratelimit import delete_expired_failure_counts
from accounts.sessions import delete_ended_sessions

PRUNE_TASK = "accounts.prune_outbox"


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_ids: list[int]) -> dict[str, int]:
    """Send these outbox rows (those still due; the claim skips the rest)."""
    return engine.deliver_batch(delivery_ids)


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Queue again the rows whose task was lost, and give up the ones past their deadline."""
    return engine.sweep().__dict__


@shared_task(name=PRUNE_TASK, ignore_result=True)
def prune_outbox() -> int:
    """Delete final outbox rows older than ACCOUNTS_DELIVERY_RETENTION_DAYS, ended failure windows and sessions."""
    return (engine.prune(keep_days=app_settings.DELIVERY_RETENTION_DAYS) + delete_expired_failure_counts()
            + delete_ended_sessions())
