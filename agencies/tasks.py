"""Celery tasks of the agencies app. Each only calls a flow."""
from celery import shared_task

from agencies import flows

POLICY_REMINDERS_TASK = "agencies.send_policy_reminders"


@shared_task(name=POLICY_REMINDERS_TASK, ignore_result=True)
def send_policy_reminders() -> int:
    """Email the grace-period reminders due now (7, 3 and 1 days before a deadline); each goes once."""
    return flows.send_policy_reminders()
