"""The Celery application: the production worker and beat that drain the outbox.

Run with ``celery -A ctm_auth worker`` and ``celery -A ctm_auth beat``
(docs/operations.md). Settings are the Django settings named CELERY_*.
Only accounts.delivery.queues, accounts.tasks and agencies.tasks use it.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctm_auth.settings.production")

app = Celery("ctm_auth")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["accounts", "agencies"])
