"""The "email" channel: account notices through Django's mail backend (SMTP in production)."""
import contextlib
import smtplib
from collections.abc import Iterator

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from accounts.app_settings import app_settings
from accounts.delivery.channels import Channel, DeliveryError
from accounts.models import Delivery


def classify_smtp_error(exc: Exception) -> DeliveryError:
    """Map an SMTP failure to a stable code; only a 5xx on the recipient is permanent.

    A 5xx on the recipient (550 "no such user") will not change by trying
    again. Anything else, a 4xx, a refused connection, a timeout, a server
    that hung up, may pass later and is retried until the deadline.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryError("recipient_refused", permanent=permanent, detail={"smtp_code": codes[0] if codes else 0})
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError("smtp_error", detail={"smtp_code": exc.smtp_code})
    # smtplib re-raises a read that timed out (a server that never greets) as
    # SMTPServerDisconnected; the timeout is its context.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return DeliveryError("timeout", detail={"timeout": settings.EMAIL_TIMEOUT})
    return DeliveryError("smtp_unavailable", detail={"exception": type(exc).__name__})


class EmailChannel(Channel):
    name = "email"
    max_attempts = 50
    keeps_failed_payload = True  # an account notice holds no secret; an operator may resend it

    @property
    def retry_base(self) -> float:
        return app_settings.EMAIL_RETRY_BASE

    @property
    def retry_cap(self) -> float:
        return app_settings.EMAIL_RETRY_CAP

    @contextlib.contextmanager
    def connection(self) -> Iterator[object]:
        """One SMTP connection for a batch of rows (an announcement to many members)."""
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            raise classify_smtp_error(exc) from None
        try:
            yield connection
        finally:
            connection.close()

    def send(self, delivery: Delivery, payload: dict, connection) -> str:
        message = EmailMessage(
            subject=payload.get("subject", ""), body=payload.get("body", ""),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[delivery.to], connection=connection,
        )
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            raise classify_smtp_error(exc) from None
        return ""
