"""A second app server, for the two-process limit test: sends texts through the flows.

Run in a fresh interpreter (multiprocessing "spawn"), with DATABASE_URL and
REDIS_URL pointing at the test database and Redis the parent test uses.
"""
import os


def send_texts(env: dict, barrier, results, *, user_id: int, attempts: int, worker: int) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    from accounts.models import User
    from mfa.sms import flows
    from tests.mfa.sms.conftest import flow_request

    settings.MFA_SMS_RESEND_COOLDOWN = 0  # the limit under test is the 5 per 15 minutes
    user = User.objects.get(pk=user_id)
    device = flows.active_device(user)
    barrier.wait(30)  # both processes start sending at the same moment
    for attempt in range(attempts):
        outcome = flows.send_code(flow_request(ip=f"198.51.100.{worker}"), user=user, purpose="sign_in",
                                  nonce=f"worker-{worker}-{attempt}", number=device.number, device=device)
        results.put((worker, outcome.sent, outcome.error))
