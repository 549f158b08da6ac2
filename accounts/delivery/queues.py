"""What wakes a worker once an outbox row has committed (ACCOUNTS_DELIVERY_QUEUE).

This module is the only place that talks to Celery, so flows and channels
never import it. A queue that cannot be reached loses nothing: the row is in
the database, and the sweep queues it again.
"""
import logging
from datetime import datetime

from accounts.app_settings import app_settings
from ctm_auth import clock

logger = logging.getLogger(__name__)

DELIVER_TASK = "accounts.deliver"
SWEEP_TASK = "accounts.sweep_outbox"


class PollQueue:
    """Nothing to wake: ``manage.py outbox_worker`` polls the table (the zero-config set-up)."""

    def dispatch(self, delivery_ids: list[int], *, eta: datetime | None = None) -> None:
        return None


class InlineQueue:
    """Send in this process right after the commit, as Celery's eager mode would (tests).

    A failed first try is recorded on the row like any other; its retries
    wait for the sweep, since nothing here keeps time.
    """

    def dispatch(self, delivery_ids: list[int], *, eta: datetime | None = None) -> None:
        if eta is not None:
            return None
        from accounts.delivery.engine import deliver_batch

        try:
            deliver_batch(delivery_ids)
        except Exception:  # noqa: BLE001 - as with a worker, a send never fails the request
            logger.exception("inline delivery of %s failed", delivery_ids)


class CeleryQueue:
    """Queue a ``accounts.deliver`` task on the Celery broker (Redis in production)."""

    def dispatch(self, delivery_ids: list[int], *, eta: datetime | None = None) -> None:
        from ctm_auth.celery import app

        countdown = max(0.0, (eta - clock.now()).total_seconds()) if eta is not None else None
        try:
            with app.pool.acquire(block=True, timeout=app.conf.broker_pool_acquire_timeout) as connection:
                # With the broker down, the request must not wait: one try to
                # connect (kombu would retry for broker_connection_timeout on
                # every dispatch, so an announcement of 100 batches would wait
                # 100 times), and no publish retries; the sweep queues the row later.
                connection.ensure_connection(max_retries=0)
                app.send_task(DELIVER_TASK, args=[list(delivery_ids)], countdown=countdown, retry=False,
                              connection=connection)
        except Exception as exc:  # noqa: BLE001 - any broker failure: the row is safe in the database
            logger.warning("could not queue deliveries %s (%s); the sweep will", delivery_ids, type(exc).__name__)


QUEUES = {"poll": PollQueue, "inline": InlineQueue, "celery": CeleryQueue}


def get_queue():
    return QUEUES[app_settings.DELIVERY_QUEUE]()
