"""The flows shared by every method (mfa/flows.py), driven with the test-only method.

The fake method has no set-up page of its own, which is the point: any
primary method gets "set-up ends on the new backup codes" from the shared
helper, without the helper knowing it.
"""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from accounts.models import AuditEvent
from mfa import flows
from mfa.backup_codes import flows as backup_flows
from mfa.backup_codes.models import BackupCodeSet
from tests.conftest import add_fake_device
from tests.mfa.backup_codes.conftest import set_up_codes

pytestmark = pytest.mark.django_db

PROFILE = "/account/profile/"
NEW_CODES = "/mfa/backup_codes/new/"


def flow_request(user=None):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_page_after_set_up_of_a_first_primary_method_is_the_new_codes(user):
    request = flow_request(user)
    add_fake_device(user)  # the fake method's "set-up" has just committed

    assert flows.page_after_set_up(request, user=user, had_primary=False) == NEW_CODES
    fresh = backup_flows.fresh_codes(request, user)
    assert fresh is not None and len(fresh.rows) == 10
    assert not BackupCodeSet.objects.get(user=user).confirmed  # working once the user ticks "saved"


def test_page_after_set_up_of_a_second_method_is_the_profile(user_with_mfa):
    assert flows.page_after_set_up(flow_request(user_with_mfa), user=user_with_mfa, had_primary=True) == PROFILE
    assert not BackupCodeSet.objects.filter(user=user_with_mfa).exists()


def test_page_after_set_up_that_enabled_nothing_is_the_profile(user):
    assert flows.page_after_set_up(flow_request(user), user=user, had_primary=False) == PROFILE
    assert not BackupCodeSet.objects.filter(user=user).exists()


def test_page_after_set_up_when_codes_are_refused_is_the_profile_and_keeps_them(user_with_mfa):
    """Generating refuses a user who already has codes (how one can: tests/mfa/backup_codes/test_first_setup.py)."""
    set_up_codes(user_with_mfa)
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)

    assert flows.page_after_set_up(flow_request(user_with_mfa), user=user_with_mfa, had_primary=False) == PROFILE
    assert BackupCodeSet.objects.get(user=user_with_mfa).generated_at == code_set.generated_at


def test_set_default_method_to_backup_codes_is_refused(user_with_mfa):
    set_up_codes(user_with_mfa)

    with pytest.raises(ValueError):
        flows.set_default_method(flow_request(user_with_mfa), user=user_with_mfa, method_key="backup_codes")

    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == ""
    assert not AuditEvent.objects.filter(event_type="mfa.default_method_changed").exists()


def test_set_default_method_to_an_inactive_method_is_refused(user_with_mfa):
    with pytest.raises(ValueError):
        flows.set_default_method(flow_request(user_with_mfa), user=user_with_mfa, method_key="totp")
    user_with_mfa.refresh_from_db()
    assert user_with_mfa.preferred_mfa_method == ""
