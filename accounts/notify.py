"""The one way we email a user about their account: templated, through the outbox."""
from django.template import Context
from django.template.loader import get_template

from accounts import delivery, preferences
from accounts.app_settings import app_settings
from accounts.models import Delivery
from ctm_auth import clock


def render(template_prefix: str, context: dict, *, time_zone: str | None = None) -> dict:
    """Return the email's subject (one line) and body from ``<prefix>_subject.txt`` and ``_message.txt``.

    Written in the recipient's (``context["user"]``) language and time zone,
    not the request's: an administrator's action, or a beat job, emails
    people who read another language. ``time_zone`` stands in for the
    agency's zone when the caller knows it (a bulk send to one agency).
    """
    with preferences.recipient(context["user"], time_zone=time_zone):
        subject = " ".join(render_plain_text(f"{template_prefix}_subject.txt", context).split())
        return {"subject": subject, "body": render_plain_text(f"{template_prefix}_message.txt", context)}


def render_plain_text(template_name: str, context: dict) -> str:
    """Render a text/plain template without HTML escaping.

    The emails are plain text: escaped, a name like "O'Brien & Co" would
    arrive as "O&#x27;Brien &amp; Co". Nothing here is ever shown as HTML.
    """
    return get_template(template_name).template.render(Context(context, autoescape=False))


def base_context(user) -> dict:
    from mfa.app_settings import app_settings as mfa_settings  # mfa imports accounts

    return {"user": user, "product_name": mfa_settings.ISSUER, "sent_at": clock.now()}


def send(user, template_prefix: str, context: dict | None = None) -> Delivery:
    """Email ``user`` from ``<prefix>_subject.txt`` and ``<prefix>_message.txt``.

    The email is written to the outbox in the caller's transaction and sent
    by a worker after the commit: a rolled-back change never tells the user it
    happened, and a mail server that is down, refusing or hanging delays the
    email without touching the change or the page. Retried for
    ACCOUNTS_EMAIL_DEADLINE (24 hours).
    """
    content = render(template_prefix, {**base_context(user), **(context or {})})
    return delivery.enqueue(channel="email", kind=template_prefix, user=user, to=user.email, payload=content,
                            valid_for=app_settings.EMAIL_DEADLINE)
