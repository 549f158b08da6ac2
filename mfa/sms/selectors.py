"""Read-only queries for the Text Messages pages."""
from dataclasses import dataclass

from accounts.app_settings import app_settings as accounts_settings
from accounts.client import describe_browser
from accounts.models import AuditEvent
from mfa.sms.delivery import SENT
from mfa.sms.models import Purpose


@dataclass(frozen=True)
class TextSentRow:
    when: object
    to: str  # masked: "•••• ••• 1234"
    purpose: str
    ip_address: str
    browser: str


def texts_sent(user, limit: int | None = None) -> list[TextSentRow]:
    """Return the latest texts sent to ``user``, newest first, from the audit log."""
    limit = limit or accounts_settings.SIGN_IN_ACTIVITY_LIMIT
    events = AuditEvent.objects.filter(target_user=user, event_type=SENT).only(
        "created_at", "data", "ip_address", "user_agent"
    )[:limit]
    labels = dict(Purpose.choices)
    return [
        TextSentRow(
            when=event.created_at,
            to=str(event.data.get("to", "")),
            purpose=str(labels.get(event.data.get("purpose"), "")),
            ip_address=event.ip_address or "",
            browser=describe_browser(event.user_agent),
        )
        for event in events
    ]
