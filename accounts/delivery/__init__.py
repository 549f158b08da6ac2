"""The outbox: every email and text is a Delivery row, written in the change's transaction.

Flows call ``enqueue`` (or ``enqueue_many``) inside the transaction that makes
the change; a worker sends the row after the commit. Nothing here imports
Celery: the queue that wakes the worker is chosen by ACCOUNTS_DELIVERY_QUEUE
(accounts.delivery.queues), and the channels that send ("email", "sms") by
ACCOUNTS_DELIVERY_CHANNELS (accounts.delivery.channels).

Why an outbox: a security action's result must never depend on the mail
server or Twilio. The row commits with the change or not at all, so nothing
is lost when a gateway is down and nothing is sent for a change that rolled
back; the worker retries, and a claim makes each row go out at most once.
"""
from accounts.delivery.channels import Channel, DeliveryError, get_channel
from accounts.delivery.outbox import enqueue, enqueue_many

__all__ = ["Channel", "DeliveryError", "enqueue", "enqueue_many", "get_channel"]
