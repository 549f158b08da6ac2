"""Small helpers shared by the accounts tests."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone

from tests.fake_method.models import FakeDevice


def let_device_wait_pass(user) -> None:
    """Age the fake device's throttle state, as if its wait had passed.

    django-otp's ThrottlingMixin reads django.utils.timezone.now, which the
    project clock does not move, so the wait is aged in the row instead.
    """
    FakeDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1))


def redirect_parts(response) -> tuple[str, dict[str, list[str]]]:
    """Return the path and the parsed query of a redirect."""
    assert response.status_code == 302, response.status_code
    target = urlsplit(response.url)
    assert target.scheme == "" and target.netloc == "", response.url
    return target.path, parse_qs(target.query)
