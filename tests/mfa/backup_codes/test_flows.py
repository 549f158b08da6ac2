"""The set-up flows: what they write, audit and email, and what they refuse."""
import pytest
from django.core import mail

from accounts.models import AuditEvent
from mfa.backup_codes import flows
from mfa.backup_codes.models import BackupCode, BackupCodeSet
from tests.conftest import add_fake_device
from tests.mfa.backup_codes.conftest import CLIENT_IP, flow_request, set_up_codes

pytestmark = pytest.mark.django_db


def test_generate_writes_ten_codes_audits_and_emails(user_with_mfa, django_capture_on_commit_callbacks):
    request = flow_request(user_with_mfa)
    with django_capture_on_commit_callbacks(execute=True):
        code_set = flows.generate_codes(request, user=user_with_mfa)
    assert BackupCode.objects.filter(code_set=code_set).count() == 10
    assert not code_set.confirmed and code_set.saved_at is None
    event = AuditEvent.objects.get(event_type=flows.GENERATED)
    assert (event.actor, event.target_user, event.method) == (user_with_mfa, user_with_mfa, "backup_codes")
    assert event.data == {"count": 10}
    assert event.ip_address == CLIENT_IP
    [email] = mail.outbox
    assert email.subject == "Backup codes were generated for your CallTrackingMetrics account"
    assert CLIENT_IP in email.body
    shown = [row.code for row in flows.fresh_codes(request, user_with_mfa).rows]
    assert not any(code in email.body or code.replace("-", "") in email.body for code in shown)


def test_generate_count_follows_the_setting(user_with_mfa, settings):
    settings.MFA_BACKUP_CODES_COUNT = 12
    assert len(set_up_codes(user_with_mfa)) == 12


def test_generate_without_primary_method_is_refused(user):
    with pytest.raises(flows.BackupCodesError) as refused:
        flows.generate_codes(flow_request(user), user=user)
    assert refused.value.error == "no_primary_method"
    assert not BackupCodeSet.objects.exists()
    assert not AuditEvent.objects.filter(event_type=flows.GENERATED).exists()


def test_confirm_saved_needs_the_set_shown_in_this_session(user_with_mfa):
    flows.generate_codes(flow_request(user_with_mfa), user=user_with_mfa)
    with pytest.raises(flows.BackupCodesError) as refused:
        flows.confirm_saved(flow_request(user_with_mfa), user=user_with_mfa)  # another session
    assert refused.value.error == "nothing_pending"
    assert not BackupCodeSet.objects.get(user=user_with_mfa).confirmed


def test_confirm_saved_of_a_superseded_set_is_refused(user_with_mfa):
    first = flow_request(user_with_mfa)
    flows.generate_codes(first, user=user_with_mfa)
    flows.generate_codes(flow_request(user_with_mfa), user=user_with_mfa)  # e.g. a second tab
    with pytest.raises(flows.BackupCodesError):
        flows.confirm_saved(first, user=user_with_mfa)


def test_confirm_saved_audits(user_with_mfa):
    set_up_codes(user_with_mfa)
    assert AuditEvent.objects.filter(event_type=flows.SAVED, target_user=user_with_mfa).count() == 1


def test_regenerate_kills_every_old_code_at_once(user_with_mfa, django_capture_on_commit_callbacks):
    old = set_up_codes(user_with_mfa)
    request = flow_request(user_with_mfa)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        code_set = flows.regenerate_codes(request, user=user_with_mfa)
    new = [row.code for row in flows.fresh_codes(request, user_with_mfa).rows]
    assert not set(old) & set(new)
    assert [code_set.consume(code.replace("-", "")) for code in old] == ["replaced"] * 10
    assert BackupCode.objects.current().filter(code_set=code_set, used_at__isnull=True).count() == 10
    # Retired rows keep no code, encrypted or not: only the hash that says "old set".
    assert set(BackupCode.objects.exclude(replaced_at=None).values_list("code", flat=True)) == {""}
    assert AuditEvent.objects.get(event_type=flows.REGENERATED).data == {"count": 10}
    assert [m.subject for m in mail.outbox] == ["Your CallTrackingMetrics backup codes were regenerated"]


def test_regenerate_twice_forgets_sets_older_than_the_last(user_with_mfa):
    oldest = set_up_codes(user_with_mfa)
    flows.regenerate_codes(flow_request(user_with_mfa), user=user_with_mfa)
    flows.regenerate_codes(flow_request(user_with_mfa), user=user_with_mfa)
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    assert BackupCode.objects.filter(code_set=code_set).count() == 20
    assert code_set.consume(oldest[0].replace("-", "")) == "incorrect"


def test_regenerate_keeps_the_throttle_state(user_with_mfa, codes):
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    code_set.throttle_increment()
    flows.regenerate_codes(flow_request(user_with_mfa), user=user_with_mfa)
    code_set.refresh_from_db()
    assert code_set.throttling_failure_count == 1


def test_regenerate_without_a_set_is_refused(user_with_mfa):
    with pytest.raises(flows.BackupCodesError) as refused:
        flows.regenerate_codes(flow_request(user_with_mfa), user=user_with_mfa)
    assert refused.value.error == "not_set_up"


def test_failed_attempt_audit_holds_no_code(user_with_mfa, codes):
    flows.verify_code(flow_request(), user=user_with_mfa, code="2222-2222-2222", purpose="sign_in")
    event = AuditEvent.objects.get(event_type=flows.FAILED)
    assert event.data == {"purpose": "sign_in", "error": "incorrect"}
    assert event.attempted_email == user_with_mfa.email and event.actor is None
    assert "2222" not in str(event.data)


def test_verify_without_codes_is_refused(user_with_mfa):
    result = flows.verify_code(flow_request(), user=user_with_mfa, code="2222-2222-2222", purpose="sign_in")
    assert not result.ok and result.error == "not_set_up"


def test_bad_input_straight_to_the_flow(user_with_mfa, codes):
    for typed, error in (("", "empty"), ("a" * 1000, "too_long"), ("\u0430" * 12, "non_ascii")):
        result = flows.verify_code(flow_request(), user=user_with_mfa, code=typed, purpose="sign_in")
        assert (result.ok, result.error) == (False, error)
        assert result.message
    assert BackupCode.objects.current().filter(used_at__isnull=True).count() == 10
    assert BackupCodeSet.objects.get(user=user_with_mfa).throttling_failure_count == 0


def test_two_users_codes_never_cross(user_with_mfa, codes, make_user):
    other = make_user("other@example.test")
    add_fake_device(other)
    set_up_codes(other)
    result = flows.verify_code(flow_request(), user=other, code=codes[0], purpose="sign_in")
    assert not result.ok and result.error == "incorrect"
