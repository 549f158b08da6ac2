"""The worker's side of the outbox: claim a row, send it once, retry, give up, sweep.

Celery tasks (accounts.tasks), the poll worker (``manage.py outbox_worker``)
and the inline queue all call these functions; nothing else changes a
Delivery's state.

At most once: a worker may send a row only after it has *claimed* it with a
conditional UPDATE (pending -> sending), so two workers handed the same row
(a task queued twice, a sweep racing a slow task) cannot both send it. A
claim is a lease: if the worker dies mid-send, the sweep hands the row to
another worker once the lease has run out.
"""
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q

from accounts.app_settings import app_settings
from accounts.delivery import queues
from accounts.delivery.channels import Channel, DeliveryError, get_channel
from accounts.models import Delivery, DeliveryState
from ctm_auth import clock

logger = logging.getLogger(__name__)


def claim(delivery_id: int, *, now: datetime | None = None) -> Delivery | None:
    """Take the row for this worker, or return None when it is not due or another worker has it.

    Every claim adds one to ``attempts``, so the count also names the claim:
    the updates that record an outcome match on it, and a worker that
    outlived its lease cannot overwrite the outcome of the next one's claim.
    """
    now = now or clock.now()
    won = Delivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now,
    ).update(
        state=DeliveryState.SENDING, attempts=F("attempts") + 1,
        lease_until=now + timedelta(seconds=app_settings.DELIVERY_LEASE),
    )
    return Delivery.objects.select_related("user").get(pk=delivery_id) if won else None


def deliver_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Send every due row among ``delivery_ids``, one connection per channel; count the outcomes."""
    outcomes: dict[str, int] = {}
    by_channel: dict[str, list[int]] = {}
    for delivery_id, channel in Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "channel"):
        by_channel.setdefault(channel, []).append(delivery_id)
    for channel_name, ids in by_channel.items():
        for outcome in _deliver_channel(get_channel(channel_name), sorted(ids)):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def deliver(delivery_id: int) -> str:
    """Send one row if it is due; return what happened ("sent", "retry", "failed", ..., "skipped")."""
    outcomes = deliver_batch([delivery_id])
    return next(iter(outcomes), "skipped")


def _deliver_channel(channel: Channel, ids: list[int]):
    connection_cm = None
    connection = None
    connect_error: DeliveryError | None = None
    try:
        for delivery_id in ids:
            # Claimed one at a time, just before sending, so each lease covers one send.
            delivery = claim(delivery_id)
            if delivery is None:
                yield "skipped"
                continue
            payload = _payload(delivery)
            reason = _drop_reason(channel, delivery, payload)
            if reason:
                yield _give_up(channel, delivery, payload, DeliveryState.DROPPED, DeliveryError(reason))
                continue
            if delivery.deadline <= clock.now():
                # Sending is pointless now (the workers were down, say): give
                # it up here, as the sweep would, instead of sending it late.
                yield _give_up(channel, delivery, payload, DeliveryState.DEAD, _deadline_error(delivery))
                continue
            if connect_error is not None:
                # The server could not be reached for this batch: the other rows
                # wait for their retry rather than each paying the timeout again.
                yield _failed(channel, delivery, payload, connect_error)
                continue
            if connection_cm is None:
                connection_cm = channel.connection()
                try:
                    connection = connection_cm.__enter__()
                except DeliveryError as error:
                    connection_cm, connect_error = None, error
                    yield _failed(channel, delivery, payload, error)
                    continue
            yield _send(channel, delivery, payload, connection)
    finally:
        if connection_cm is not None:
            try:
                connection_cm.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - closing a broken connection must not lose outcomes
                logger.warning("closing the %s connection failed", channel.name)


def _payload(delivery: Delivery) -> dict:
    try:
        return json.loads(delivery.payload or "{}")
    except ValueError:
        return {}


def _drop_reason(channel: Channel, delivery: Delivery, payload: dict) -> str:
    if delivery.for_user and delivery.user_id is None:
        return "user_deleted"
    return channel.drop_reason(delivery, payload)


def _send(channel: Channel, delivery: Delivery, payload: dict, connection) -> str:
    try:
        reference = channel.send(delivery, payload, connection)
    except DeliveryError as error:
        return _failed(channel, delivery, payload, error)
    except Exception as exc:  # noqa: BLE001 - a channel bug must not leave the row claimed
        # The exception's text may quote the message, so only its type is kept.
        logger.error("%s channel crashed on delivery %s: %s", channel.name, delivery.pk, type(exc).__name__)
        return _failed(channel, delivery, payload, DeliveryError("crashed", detail={"exception": type(exc).__name__}))
    now = clock.now()
    recorded = Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING, attempts=delivery.attempts).update(
        state=DeliveryState.SENT, finished_at=now, lease_until=None, reference=(reference or "")[:100],
        payload="", last_error="", last_error_detail={},
    )
    if recorded:
        delivery.state, delivery.reference = DeliveryState.SENT, (reference or "")[:100]
        channel.on_sent(delivery, payload)
    return "sent"


def _failed(channel: Channel, delivery: Delivery, payload: dict, error: DeliveryError) -> str:
    """Record a failed try: final when permanent, out of tries or past the deadline; else retry later."""
    logger.warning("delivery %s (%s %s) try %s failed: %s %s", delivery.pk, delivery.channel, delivery.kind,
                   delivery.attempts, error.code, error.detail)
    if error.permanent:
        return _give_up(channel, delivery, payload, DeliveryState.FAILED, error)
    retry_at = clock.now() + timedelta(seconds=retry_delay(channel, delivery.attempts))
    if delivery.attempts >= channel.max_attempts or retry_at >= delivery.deadline:
        return _give_up(channel, delivery, payload, DeliveryState.DEAD, error)
    Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING, attempts=delivery.attempts).update(
        state=DeliveryState.PENDING, next_attempt_at=retry_at, lease_until=None, dispatched_at=clock.now(),
        last_error=error.code[:64], last_error_detail=error.detail,
    )
    queues.get_queue().dispatch([delivery.pk], eta=retry_at)
    return "retry"


def retry_delay(channel: Channel, attempts: int) -> float:
    """Exponential backoff with ±10 % jitter, so rows that failed together do not retry together."""
    delay = min(channel.retry_cap, channel.retry_base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.9, 1.1)


def _give_up(channel: Channel, delivery: Delivery, payload: dict, state: str, error: DeliveryError) -> str:
    """Make the row final (its payload wiped) and tell the channel, exactly once."""
    # A text's payload holds a code: it goes with the row's end. An email's
    # may stay on a failed row, so an operator can send it again (outbox --retry).
    keep_payload = channel.keeps_failed_payload and state in (DeliveryState.FAILED, DeliveryState.DEAD)
    ended = Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).exclude(
        state__in=Delivery.FINAL_STATES).update(
        state=state, finished_at=clock.now(), lease_until=None, last_error=error.code[:64],
        last_error_detail=error.detail, **({} if keep_payload else {"payload": ""}),
    )
    if ended:
        delivery.state, delivery.last_error = state, error.code
        channel.on_given_up(delivery, payload, error)
    return state


@dataclass(frozen=True)
class SweepResult:
    requeued: int = 0  # due rows whose task was lost, queued again
    recovered: int = 0  # rows whose worker died mid-send (lease ran out)
    expired: int = 0  # rows past their deadline, given up


def sweep(*, now: datetime | None = None) -> SweepResult:
    """Find rows whose task was lost (a dead worker, a flushed broker) and queue them again.

    Safe to run anywhere and often: the claim in ``deliver_batch`` makes a
    row queued twice go out once.
    """
    now = now or clock.now()
    lost = list(Delivery.objects.filter(state=DeliveryState.SENDING, lease_until__lt=now)
                .values_list("pk", flat=True))
    if lost:
        Delivery.objects.filter(pk__in=lost, state=DeliveryState.SENDING, lease_until__lt=now).update(
            state=DeliveryState.PENDING, next_attempt_at=now, lease_until=None, dispatched_at=now,
            last_error="worker_lost",
        )
    expired = _expire(now)
    grace = now - timedelta(seconds=app_settings.DELIVERY_SWEEP_GRACE)
    batch = app_settings.DELIVERY_BATCH_SIZE
    stale = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=grace)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=grace))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:10 * batch]
    )
    if stale:
        Delivery.objects.filter(pk__in=stale).update(dispatched_at=now)
    ids = lost + stale
    for start in range(0, len(ids), batch):
        queues.get_queue().dispatch(ids[start:start + batch])
    return SweepResult(requeued=len(stale), recovered=len(lost), expired=expired)


def _expire(now: datetime) -> int:
    """Give up pending rows whose deadline passed (a code nobody can use any more)."""
    expired = 0
    for delivery in Delivery.objects.filter(state=DeliveryState.PENDING, deadline__lte=now).select_related("user"):
        channel = get_channel(delivery.channel)
        if _give_up(channel, delivery, _payload(delivery), DeliveryState.DEAD,
                    _deadline_error(delivery)) == DeliveryState.DEAD:
            expired += 1
    return expired


def _deadline_error(delivery: Delivery) -> DeliveryError:
    """The error a row past its deadline is given up with: its last failure, if it had one."""
    return DeliveryError(delivery.last_error or "deadline_passed", detail=delivery.last_error_detail)


def deliver_due(*, limit: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Send every row that is due now (the poll worker's loop, and tests that drain the outbox)."""
    now = now or clock.now()
    ids = list(Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit or app_settings.DELIVERY_BATCH_SIZE])
    return deliver_batch(ids) if ids else {}


def retry_final(delivery_ids: list[int], *, valid_for: float) -> list[int]:
    """Put failed or dead rows that still hold their message back in the queue (an operator's retry).

    Only rows whose payload was kept (emails) can be sent again; a text's
    code died with its row. Returns the ids queued again.
    """
    now = clock.now()
    candidates = list(Delivery.objects.filter(
        pk__in=delivery_ids, state__in=(DeliveryState.FAILED, DeliveryState.DEAD),
    ).exclude(payload="").values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=candidates).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, dispatched_at=now, finished_at=None,
        deadline=now + timedelta(seconds=valid_for),
    )
    if candidates:
        queues.get_queue().dispatch(candidates)
    return candidates


def prune(*, keep_days: int) -> int:
    """Delete final rows older than ``keep_days`` (the outbox is a queue, not an archive)."""
    cutoff = clock.now() - timedelta(days=keep_days)
    deleted, _detail = Delivery.objects.filter(state__in=Delivery.FINAL_STATES, finished_at__lt=cutoff).delete()
    return deleted
