"""Celery task of the temporary access pass: the expiry sweep (CELERY_BEAT_SCHEDULE)."""
from celery import shared_task

from mfa.access_pass import flows

EXPIRE_TASK = "mfa.access_pass.expire_passes"


@shared_task(name=EXPIRE_TASK, ignore_result=True)
def expire_passes() -> int:
    """Mark passes past their expiry as expired, each audited and emailed once."""
    return flows.expire_passes()
