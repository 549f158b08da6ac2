"""Signing in (step 2) and stepping up with a backup code, through the real pages."""
import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from ctm_auth.dates import format_day
from mfa.backup_codes import flows, selectors
from mfa.backup_codes.models import BackupCodeSet
from tests.conftest import FAKE_CODE, PASSWORD, let_step_up_window_pass
from tests.mfa.backup_codes.conftest import (
    sign_in_with_backup_code,
    start_sign_in,
    submit_backup_code,
)

pytestmark = pytest.mark.django_db

# Literal paths: reversing at import time would load the URLconf during collection.
VERIFY = "/account/login/verify/"
PROFILE = "/account/profile/"


def remaining(user) -> int:
    return selectors.remaining_count(BackupCodeSet.objects.get(user=user))


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_step_two_offers_use_a_backup_code(client, user_with_mfa, codes):
    start_sign_in(client, user_with_mfa)
    page = client.get(VERIFY).content.decode()
    assert "Use a backup code" in page
    assert f'href="{VERIFY}?method=backup_codes"' in page
    chosen = client.get(VERIFY, {"method": "backup_codes"}).content.decode()
    assert "Enter one of your backup codes" in chosen
    assert 'name="method" value="backup_codes"' in chosen
    # Codes hold letters: a phone must offer its full keyboard, not a digit keypad.
    assert 'inputmode="text"' in chosen and 'inputmode="numeric"' in page


def test_step_two_does_not_offer_backup_codes_before_set_up_is_finished(client, user_with_mfa):
    from tests.mfa.backup_codes.conftest import flow_request

    flows.generate_codes(flow_request(user_with_mfa), user=user_with_mfa)  # never ticked "saved"
    start_sign_in(client, user_with_mfa)
    assert "Use a backup code" not in client.get(VERIFY).content.decode()


def test_sign_in_with_backup_code_shows_remaining_audits_and_emails(client, user_with_mfa, codes,
                                                                   django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in_with_backup_code(client, user_with_mfa, codes[0], REMOTE_ADDR="198.51.100.23")
    assert response.status_code == 302 and response.url == PROFILE
    profile = client.get(PROFILE)
    assert "Backup code accepted: 9 remaining." in profile.content.decode()
    assert profile.wsgi_request.user == user_with_mfa
    assert profile.wsgi_request.user.is_verified()
    assert remaining(user_with_mfa) == 9

    used = AuditEvent.objects.get(event_type=flows.USED)
    assert used.target_user == user_with_mfa and used.method == "backup_codes"
    assert used.data == {"purpose": "sign_in", "remaining": 9}
    assert used.ip_address == "198.51.100.23"
    signed_in = AuditEvent.objects.get(event_type=audit.SIGN_IN_SUCCEEDED)
    assert signed_in.method == "backup_codes"

    [email] = mail.outbox
    assert email.to == [user_with_mfa.email]
    assert email.subject == "A backup code was used on your CallTrackingMetrics account"
    assert "198.51.100.23" in email.body
    assert f"{format_day(used.created_at)}, " in email.body and " UTC from IP address" in email.body
    assert "You have 9 backup codes left." in email.body
    assert codes[0] not in email.body and codes[0].replace("-", "") not in email.body


def test_same_code_twice_is_refused(client, user_with_mfa, codes, clock):
    assert sign_in_with_backup_code(client, user_with_mfa, codes[3]).status_code == 302
    client.post(reverse("accounts:logout"))
    response = sign_in_with_backup_code(client, user_with_mfa, codes[3])
    assert response.status_code == 200
    assert "That backup code has already been used." in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert remaining(user_with_mfa) == 9
    failed = AuditEvent.objects.get(event_type=flows.FAILED)
    assert failed.data == {"purpose": "sign_in", "error": "used"}
    assert AuditEvent.objects.filter(event_type=audit.SIGN_IN_SECOND_FACTOR_FAILED, method="backup_codes").count() == 1


@pytest.mark.parametrize("transform", [
    str.upper, lambda c: c.replace("-", ""), lambda c: c.replace("-", " "), lambda c: f"  {c[:3]} {c[3:]}  ",
])
def test_sign_in_accepts_normalised_input(client, user_with_mfa, codes, transform):
    response = sign_in_with_backup_code(client, user_with_mfa, transform(codes[5]))
    assert response.status_code == 302 and response.url == PROFILE
    assert remaining(user_with_mfa) == 9


@pytest.mark.parametrize("typed, message", [
    ("", "Enter the code."),
    ("x" * 1000, "Ensure this value has at most 64 characters"),
    ("FIRST_CODE_WITH_CYRILLIC_A", "Your entry has other characters"),
    ("FIRST_CODE_FULL_WIDTH", "Your entry has other characters"),
    ("7hx4km-2q9pa0", "That is not a backup code."),
])
def test_bad_input_gets_a_clear_error_and_uses_up_nothing(client, user_with_mfa, codes, typed, message):
    first = codes[0]
    if typed == "FIRST_CODE_WITH_CYRILLIC_A":
        typed = first[:-1] + "\u0430"  # the last character replaced by a Cyrillic "а"
    elif typed == "FIRST_CODE_FULL_WIDTH":
        typed = "".join(chr(ord(ch) + 0xFEE0) if ch != "-" else ch for ch in first)
    start_sign_in(client, user_with_mfa)
    response = submit_backup_code(client, typed)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert remaining(user_with_mfa) == 10
    # Malformed input is not a guess: it does not throttle, and the real code still works at once.
    assert submit_backup_code(client, first).url == PROFILE
    assert remaining(user_with_mfa) == 9


def test_code_from_a_regenerated_set_is_refused_and_uses_up_nothing(client, user_with_mfa, codes):
    from tests.mfa.backup_codes.conftest import flow_request

    request = flow_request(user_with_mfa)
    flows.regenerate_codes(request, user=user_with_mfa)
    new = [row.code for row in flows.fresh_codes(request, user_with_mfa).rows]
    start_sign_in(client, user_with_mfa)
    response = submit_backup_code(client, codes[0])
    assert "That backup code is from an old set that was replaced." in response.content.decode()
    assert remaining(user_with_mfa) == 10
    assert AuditEvent.objects.get(event_type=flows.FAILED).data["error"] == "replaced"
    assert not any(code in response.content.decode() for code in new)


def test_wrong_code_is_throttled_until_the_wait_passes(client, user_with_mfa, codes, clock):
    start_sign_in(client, user_with_mfa)
    wrong = submit_backup_code(client, "2222-2222-2222")
    assert "That backup code is not correct." in wrong.content.decode()
    throttled = submit_backup_code(client, codes[0])
    assert "Too many attempts. Try again in 1 second." in throttled.content.decode()
    assert remaining(user_with_mfa) == 10
    assert AuditEvent.objects.filter(event_type=flows.FAILED).values_list("data__error", flat=True).count() == 2
    clock.advance(1)
    assert submit_backup_code(client, codes[0]).url == PROFILE


def test_throttle_wait_doubles_with_each_failure(client, user_with_mfa, codes, clock):
    start_sign_in(client, user_with_mfa)
    for wait in (1, 2, 4, 8):
        submit_backup_code(client, "2222-2222-2222")
        clock.advance(wait - 0.5)
        assert "Too many attempts" in submit_backup_code(client, codes[0]).content.decode()
        clock.advance(0.5)
    assert remaining(user_with_mfa) == 10
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    assert code_set.throttling_failure_count == 4


def test_low_codes_warning_links_to_regenerate(client, user_with_mfa, codes):
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    for code in codes[:7]:
        assert code_set.consume(code.replace("-", "")) == "ok"
    response = sign_in_with_backup_code(client, user_with_mfa, codes[7])
    messages = texts(response)
    assert "Backup code accepted: 2 remaining." in messages
    assert any("Only 2 backup codes are left." in m for m in messages)
    html = client.get(PROFILE).content.decode()
    assert f'<a href="{reverse("mfa:backup_codes:regenerate")}">Generate new codes</a>' in html


def test_no_warning_while_more_than_two_remain(client, user_with_mfa, codes):
    response = sign_in_with_backup_code(client, user_with_mfa, codes[0])
    assert texts(response) == ["Backup code accepted: 9 remaining."]


def test_last_code_leaves_no_backup_option_on_step_two(client, user_with_mfa, codes):
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    for code in codes[:9]:
        code_set.consume(code.replace("-", ""))
    response = sign_in_with_backup_code(client, user_with_mfa, codes[9])
    assert "You have used your last backup code." in " ".join(texts(response))
    client.post(reverse("accounts:logout"))
    start_sign_in(client, user_with_mfa)
    assert "Use a backup code" not in client.get(VERIFY).content.decode()


def test_step_up_accepts_a_backup_code(client, user_with_mfa, codes, django_capture_on_commit_callbacks):
    assert client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD}).status_code == 302
    assert client.post(VERIFY, {"code": FAKE_CODE}).url == PROFILE
    let_step_up_window_pass()
    manage = reverse("mfa:backup_codes:manage")
    gate = client.get(manage)
    assert gate.url.startswith(reverse("accounts:reauthenticate"))
    page = client.get(gate.url).content.decode()
    assert "Use a backup code" in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:reauthenticate"), {
            "password": PASSWORD, "code": codes[1], "method": "backup_codes", "next": manage})
    assert response.status_code == 302 and response.url == manage
    assert client.get(manage).status_code == 200
    assert remaining(user_with_mfa) == 9
    assert AuditEvent.objects.get(event_type=flows.USED).data == {"purpose": "reauth", "remaining": 9}
    assert AuditEvent.objects.get(event_type=audit.REAUTH_SUCCEEDED).method == "backup_codes"
    assert "sensitive security area" in mail.outbox[0].body


def test_step_up_with_a_used_code_is_refused(client, user_with_mfa, codes):
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})
    client.post(VERIFY, {"code": FAKE_CODE})
    let_step_up_window_pass()
    BackupCodeSet.objects.get(user=user_with_mfa).consume(codes[1].replace("-", ""))
    response = client.post(reverse("accounts:reauthenticate"), {
        "password": PASSWORD, "code": codes[1], "method": "backup_codes"})
    assert response.status_code == 200
    assert "That backup code has already been used." in response.content.decode()
    assert client.get(reverse("mfa:backup_codes:manage")).status_code == 302
    assert AuditEvent.objects.get(event_type=flows.FAILED).actor == user_with_mfa


def test_self_recovery_after_signing_in_with_a_backup_code(client, user_with_mfa, codes):
    """The seed's use case: the phone is gone; a backup code gets the user to Multi-Factor Methods.

    The sign-in with it counts as the step-up: no second code is spent.
    """
    assert sign_in_with_backup_code(client, user_with_mfa, codes[0]).url == PROFILE
    assert client.get(reverse("mfa:default_method")).status_code == 200
    assert remaining(user_with_mfa) == 9
