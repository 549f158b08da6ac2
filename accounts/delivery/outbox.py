"""Writing to the outbox: the only way an email or a text is sent."""
import json
from datetime import datetime, timedelta

from django.db import transaction

from accounts.delivery import queues
from accounts.models import Delivery, DeliveryState
from ctm_auth import clock


def _row(*, channel: str, kind: str, user, to: str, payload: dict, deadline: datetime, now: datetime) -> Delivery:
    return Delivery(
        created_at=now, channel=channel, kind=kind[:100], user=user, for_user=user is not None, to=to,
        payload=json.dumps(payload), state=DeliveryState.PENDING, next_attempt_at=now, deadline=deadline,
    )


def enqueue(*, channel: str, kind: str, user, to: str, payload: dict,
            deadline: datetime | None = None, valid_for: float | None = None) -> Delivery:
    """Write one message to the outbox; a worker sends it once the transaction commits.

    Call inside the transaction of the change the message is about: if that
    rolls back, so does the message. Give the time after which sending is
    pointless as ``deadline`` or ``valid_for`` (seconds).
    """
    if deadline is None and valid_for is None:
        raise TypeError("enqueue() needs a deadline or valid_for: a message must know when it stops mattering")
    now = clock.now()
    deadline = deadline or now + timedelta(seconds=valid_for)
    delivery = _row(channel=channel, kind=kind, user=user, to=to, payload=payload, deadline=deadline, now=now)
    delivery.save()
    transaction.on_commit(lambda: queues.get_queue().dispatch([delivery.pk]))
    return delivery


def enqueue_many(*, channel: str, kind: str, messages: list[tuple[object, str, dict]], valid_for: float,
                 batch_size: int) -> int:
    """Write many messages (user, to, payload) at once; workers send them in batches.

    One task per ``batch_size`` rows, so an announcement to 10,000 members is
    100 tasks, each sending over one connection.
    """
    now = clock.now()
    deadline = now + timedelta(seconds=valid_for)
    rows = [_row(channel=channel, kind=kind, user=user, to=to, payload=payload, deadline=deadline, now=now)
            for user, to, payload in messages]
    created = Delivery.objects.bulk_create(rows, batch_size=500)
    ids = [row.pk for row in created]  # PostgreSQL and SQLite both return the new keys
    batches = [ids[start:start + batch_size] for start in range(0, len(ids), batch_size)]
    transaction.on_commit(lambda: [queues.get_queue().dispatch(batch) for batch in batches])
    return len(rows)
