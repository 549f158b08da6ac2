"""Keep texts in the database, listed on the DEBUG-only "Dev SMS outbox" page."""
from mfa.sms.gateways.base import BaseGateway, Receipt, TextMessage


class OutboxGateway(BaseGateway):
    """Store each text as an OutboxMessage, so `make run` works without a phone.

    The bodies hold live codes in clear: a deploy check warns if this backend
    is configured outside development.
    """

    name = "outbox"

    def send(self, message: TextMessage) -> Receipt:
        from mfa.sms.models import OutboxMessage

        row = OutboxMessage.objects.create(to=message.to, body=message.body)
        return Receipt(gateway=self.name, reference=str(row.pk))
