"""Print texts to standard output, for local development without a phone."""
import sys

from mfa.sms.gateways.base import BaseGateway, Receipt, TextMessage


class ConsoleGateway(BaseGateway):
    """Write each text to stdout (as Django's console email backend does; not to the logs)."""

    name = "console"

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message: TextMessage) -> Receipt:
        self.stream.write(f"--- Text message to {message.to} ---\n{message.body}\n---\n")
        self.stream.flush()
        return Receipt(gateway=self.name)
