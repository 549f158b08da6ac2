"""BackupCodesMethod on the shared interface: registration, status, and destruction with the last primary."""
import pytest
from django.conf import settings
from django_otp import match_token
from django_otp.models import Device

from accounts.models import AuditEvent
from accounts.selectors import profile_methods
from mfa import flows as mfa_flows
from mfa.backup_codes.method import BackupCodesMethod
from mfa.backup_codes.models import BackupCode, BackupCodeSet
from mfa.registry import active_methods, all_methods, get_method, has_primary_method
from tests.fake_method.models import FakeDevice
from tests.mfa.backup_codes.conftest import flow_request, set_up_codes

pytestmark = pytest.mark.django_db


def test_backup_codes_are_registered_as_a_fallback():
    method = get_method("backup_codes")
    assert isinstance(method, BackupCodesMethod)
    assert str(method.label) == "Backup Codes"
    assert method.is_primary is False
    assert str(method.alternative_label) == "Use a backup code"
    assert method.manage_url_name == "mfa:backup_codes:manage"
    assert "mfa.backup_codes.method.BackupCodesMethod" in settings.MFA_METHODS
    assert method in all_methods()


def test_backup_codes_do_not_count_as_two_factor_enabled(user_with_mfa, codes):
    FakeDevice.objects.filter(user=user_with_mfa).update(confirmed=False)  # primary switched off, codes kept
    assert [m.key for m in active_methods(user_with_mfa)] == ["backup_codes"]
    assert has_primary_method(user_with_mfa) is False


def test_status_detail_counts_remaining_codes(user_with_mfa, codes):
    method = get_method("backup_codes")
    assert method.status_detail(user_with_mfa) == "10 of 10 codes remaining"
    BackupCodeSet.objects.get(user=user_with_mfa).consume(codes[0].replace("-", ""))
    assert method.status_detail(user_with_mfa) == "9 of 10 codes remaining"
    row = next(r for r in profile_methods(user_with_mfa) if r.key == "backup_codes")
    assert row.is_active and not row.in_use and not row.is_primary


def test_method_is_inactive_until_saved_and_once_every_code_is_used(user_with_mfa):
    method = get_method("backup_codes")
    request = flow_request(user_with_mfa)
    from mfa.backup_codes import flows

    flows.generate_codes(request, user=user_with_mfa)
    assert not method.is_active_for(user_with_mfa)
    flows.confirm_saved(request, user=user_with_mfa)
    assert method.is_active_for(user_with_mfa)
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    BackupCode.objects.filter(code_set=code_set).update(used_at=code_set.generated_at)
    assert not method.is_active_for(user_with_mfa)


def test_verify_returns_a_django_otp_device_of_the_user(user_with_mfa, codes):
    result = get_method("backup_codes").verify(flow_request(user_with_mfa), user_with_mfa, codes[0], purpose="sign_in")
    assert result.ok and isinstance(result.device, Device)
    assert result.device.user_id == user_with_mfa.pk
    assert result.extra == {"remaining": 9}
    assert Device.from_persistent_id(result.device.persistent_id) == result.device


def test_django_otp_match_token_consumes_a_code_once(user_with_mfa, codes):
    device = match_token(user_with_mfa, codes[4])
    assert isinstance(device, BackupCodeSet)
    assert match_token(user_with_mfa, codes[4]) is None


def test_remove_all_destroys_set_and_codes(user_with_mfa, codes):
    assert get_method("backup_codes").remove_all(user_with_mfa) == 1
    assert not BackupCodeSet.objects.filter(user=user_with_mfa).exists()
    assert not BackupCode.objects.exists()
    assert get_method("backup_codes").remove_all(user_with_mfa) == 0


def test_codes_are_destroyed_when_the_last_primary_method_goes(user_with_mfa, codes):
    FakeDevice.objects.filter(user=user_with_mfa).delete()
    destroyed = mfa_flows.destroy_fallbacks_if_no_primary(flow_request(user_with_mfa), user=user_with_mfa)
    assert destroyed == 1
    assert not BackupCode.objects.exists()
    event = AuditEvent.objects.get(event_type=mfa_flows.BACKUP_METHODS_DESTROYED)
    assert event.target_user == user_with_mfa and event.data == {"count": 1}


def test_codes_stay_while_a_primary_method_remains(user_with_mfa, codes):
    assert mfa_flows.destroy_fallbacks_if_no_primary(flow_request(user_with_mfa), user=user_with_mfa) == 0
    assert BackupCode.objects.current().count() == 10


def test_set_up_codes_for_another_user_are_separate(user_with_mfa, codes, make_user):
    from tests.conftest import add_fake_device

    other = make_user("other@example.test")
    add_fake_device(other)
    other_codes = set_up_codes(other)
    other_set = BackupCodeSet.objects.get(user=other)
    assert other_set.consume(codes[0].replace("-", "")) == "incorrect"
    assert not set(codes) & set(other_codes)
