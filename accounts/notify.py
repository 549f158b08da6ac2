"""The one way we email a user about their account: templated, after commit."""
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from ctm_auth import clock


def send(user, template_prefix: str, context: dict | None = None) -> None:
    """Email ``user`` from ``<prefix>_subject.txt`` and ``<prefix>_message.txt``.

    The mail goes out only once the surrounding transaction commits, so a
    rolled-back change never tells the user it happened.
    """
    from mfa.app_settings import app_settings as mfa_settings  # mfa imports accounts

    full_context = {"user": user, "product_name": mfa_settings.ISSUER, "sent_at": clock.now(), **(context or {})}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", full_context).split())
    message = render_to_string(f"{template_prefix}_message.txt", full_context)
    transaction.on_commit(
        lambda: send_mail(subject, message, settings.DEFAULT_FROM_EMAIL, [user.email])
    )
