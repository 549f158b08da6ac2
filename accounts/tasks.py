"""Celery tasks of the outbox. Each only calls accounts.delivery.engine."""
from celery import shared_task

from accounts.delivery import engine
from accounts.delivery.queues import DELIVER_TASK, SWEEP_TASK


@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver(delivery_ids: list[int]) -> dict[str, int]:
    """Send these outbox rows (those still due; the claim skips the rest)."""
    return engine.deliver_batch(delivery_ids)


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Queue again the rows whose task was lost, and give up the ones past their deadline."""
    return engine.sweep().__dict__
