"""What a channel is: how one kind of message is sent, retried and given up.

A channel ("email", "sms") is listed in ACCOUNTS_DELIVERY_CHANNELS, so the
SMS channel can live with the Text Messages method (mfa.sms.delivery) while
the outbox stays in accounts, which imports no mfa code.
"""
import contextlib
import functools
from collections.abc import Iterator

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from accounts import audit
from accounts.app_settings import app_settings
from accounts.models import Delivery


class DeliveryError(Exception):
    """A send did not happen. ``code`` is stable; ``detail`` is safe to store and audit.

    ``permanent`` failures (Twilio 21211, an SMTP 5xx on the recipient) are
    final; any other failure is retried until the row's deadline.
    """

    def __init__(self, code: str, *, permanent: bool = False, detail: dict | None = None):
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.detail = detail or {}


# Audit event types written for every channel.
DELIVERY_FAILED = "delivery.failed"
DELIVERY_DEAD = "delivery.dead"
DELIVERY_DROPPED = "delivery.dropped"


class Channel:
    """Subclasses send one row's payload and may veto a row that is no longer wanted."""

    name: str = ""
    #: Seconds before the first retry; each later wait doubles, up to retry_cap.
    retry_base: float = 30
    retry_cap: float = 60 * 60
    #: Tries after which a row is given up even before its deadline.
    max_attempts: int = 50
    #: Keep a failed or dead row's payload, so ``manage.py outbox --retry`` can
    #: send it again. False for a payload that holds a secret (a text's code).
    keeps_failed_payload: bool = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[object]:
        """Yield what ``send`` needs for a batch of rows (one SMTP connection, say)."""
        yield None

    def send(self, delivery: Delivery, payload: dict, connection) -> str:
        """Send one row; return the gateway's reference, or raise DeliveryError."""
        raise NotImplementedError

    def drop_reason(self, delivery: Delivery, payload: dict) -> str:
        """Return why this row must not be sent any more ("" to send it)."""
        return ""

    def on_sent(self, delivery: Delivery, payload: dict) -> None:
        """Called once, after the row is recorded as sent."""

    def on_given_up(self, delivery: Delivery, payload: dict, error: DeliveryError) -> None:
        """Called once, after the row became failed, dead or dropped (``error.code`` says why).

        The default writes one audit event; channels with their own events
        (Text Messages) override it.
        """
        event = {
            "failed": DELIVERY_FAILED, "dead": DELIVERY_DEAD, "dropped": DELIVERY_DROPPED,
        }[delivery.state]
        audit.record(None, event, actor=None, target=delivery.user, data={
            "delivery": delivery.pk, "channel": delivery.channel, "kind": delivery.kind,
            "error": error.code, "attempts": delivery.attempts, **error.detail,
        })


@functools.cache
def _channels() -> dict[str, Channel]:
    return {name: import_string(path)() for name, path in app_settings.DELIVERY_CHANNELS.items()}


def get_channel(name: str) -> Channel:
    return _channels()[name]


def _clear_on_settings_change(*, setting: str, **kwargs) -> None:
    if setting == "ACCOUNTS_DELIVERY_CHANNELS":
        _channels.cache_clear()


setting_changed.connect(_clear_on_settings_change)
