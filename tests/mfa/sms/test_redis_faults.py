"""Redis (the texts' limits) down: no text goes out, the page says why plainly, nothing half-written.

Limits fail closed: without their counters a text could be requested a
thousand times. Each test runs its own redis-server as the cache
(tests/conftest.py ``redis_server``) and stops only that one.
"""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Delivery
from mfa.sms.models import SMSChallenge, SMSDevice
from tests.conftest import reauthenticate, sign_in
from tests.mfa.sms.conftest import NUMBER, enrol_sms, start_sign_in, texts_to

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]
VERIFY = reverse("accounts:login_verify")
UNAVAILABLE = "Text messages are briefly unavailable, so no text was sent."


def test_step_two_while_redis_is_down_texts_nothing_and_says_so(user, redis_server):
    enrol_sms(user)
    client = Client(raise_request_exception=False)
    start_sign_in(client, user)  # step 1 needs Redis (the per-IP limit); step 2 is where it dies
    before = texts_to(NUMBER)
    redis_server.stop()

    response = client.get(VERIFY)

    assert response.status_code == 200 and UNAVAILABLE in response.content.decode()
    assert texts_to(NUMBER) == before
    assert not SMSChallenge.objects.filter(user=user, purpose="sign_in").exists()
    assert not Delivery.objects.filter(kind="sms:sign_in").exists()
    redis_server.start()
    assert "We sent a code to +1 •••-•••-2671." in client.get(VERIFY).content.decode()
    assert texts_to(NUMBER) == before + 1


def test_set_up_while_redis_is_down_keeps_the_page_and_writes_nothing(user, redis_server):
    client = Client(raise_request_exception=False)
    assert sign_in(client, user).status_code == 302
    assert reauthenticate(client, user).status_code == 302
    redis_server.stop()

    response = client.post(reverse("mfa:sms:manage"), {"number": NUMBER})

    assert response.status_code == 200 and UNAVAILABLE in response.content.decode()
    assert not SMSDevice.objects.filter(user=user).exists()
    assert not Delivery.objects.filter(kind="sms:enrol").exists()
    assert texts_to(NUMBER) == 0
