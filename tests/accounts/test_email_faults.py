"""Every security action that emails the user, while the mail server is down, hangs, defers or refuses.

The review found these actions answering HTTP 500 after their change had
committed, a backup-code sign-in spending the code without signing in, and
a password change signing the user out. Now each email is an outbox row:
the action succeeds at once, the row waits out the fault, and the email
goes out exactly once when the server is back (or ends "failed" on a 550).

Each action is driven through the real pages with the "poll" queue, as in
production's web process; the test then drains the outbox as the worker
would. The mail server is a real SMTP server on loopback (tests/servers.py).
Set-up (enrolling, generating codes) runs before the fault, with the test
settings' inline queue and in-memory mail, so only the action's email meets it.
"""
import contextlib
import re
import time
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from accounts import audit
from accounts.delivery import engine
from accounts.delivery.channels import DELIVERY_FAILED
from accounts.models import AuditEvent, Delivery
from agencies import flows as agency_flows
from mfa.backup_codes import flows as backup_code_flows
from mfa.backup_codes import selectors
from mfa.backup_codes.models import BackupCodeSet
from mfa.totp import flows as totp_flows
from mfa.totp.models import TOTPDevice
from tests.accounts.conftest import ANSWERING_SERVER_TIMEOUT, accept_again, hang, headers, latest_pk, rows_since, stop
from tests.agencies.policy_helpers import policy_form
from tests.conftest import PASSWORD, add_fake_device, open_after_step_up, reauthenticate, sign_in
from tests.fake_method.models import FakeDevice
from tests.mfa.backup_codes.conftest import set_up_codes, sign_in_with_backup_code, submit_backup_code
from tests.mfa.totp.conftest import code_for, enrol, reauthenticate_with_totp, sign_in_with_totp
from tests.servers import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)

PROFILE = "/account/profile/"
TOTP_START = "/mfa/totp/start/"
TOTP_SETUP = "/mfa/totp/setup/"
TOTP_DISABLE = "/mfa/totp/disable/"
BACKUP_GENERATE = "/mfa/backup_codes/generate/"
BACKUP_NEW = "/mfa/backup_codes/new/"
CODE_RE = re.compile(r"\b[2-9a-z]{6}-[2-9a-z]{6}\b")
NEW_PASSWORD = "plover quartz umbrella 93"

# What the worker records for each fault the server can be in.
TRANSIENT_ERRORS = {"down": "smtp_unavailable", "hang": "timeout", "tempfail": "recipient_refused"}


@dataclass
class MailFault:
    """The mail server in one fault ("down", "hang", "tempfail" or "refuse"), and the checks that follow."""

    mode: str
    server: SMTPServer
    settings: object
    clock: object
    since: int = 0

    def begin(self) -> None:
        """Send mail to the faulty server, write rows only (queue "poll"); what follows is the action's."""
        for name, value in self.server.settings().items():
            setattr(self.settings, name, value)
        self.settings.EMAIL_TIMEOUT = ANSWERING_SERVER_TIMEOUT
        self.settings.ACCOUNTS_DELIVERY_QUEUE = "poll"
        hang(self.server, self.settings) if self.mode == "hang" else getattr(self.server, self.mode)()
        self.since = latest_pk()

    @contextlib.contextmanager
    def request(self):
        """Around the action's requests: none of them may open a connection to the mail server."""
        held = len(self.server._held)
        yield
        assert len(self.server._held) == held, "a request connected to the hanging mail server"

    def assert_email_follows(self, *, to: list[str], subject: str | tuple[str, ...]) -> None:
        """The action wrote one row per recipient, unsent; the worker then delivers or fails it.

        ``subject`` is every email's, or one per row when the action sends several.

        Transient faults: a try while the fault lasts schedules a retry and
        sends nothing; once the server accepts, each recipient gets the email
        exactly once. A 550: the row fails at once, audited, never retried.
        """
        rows = rows_since(self.since)
        assert sorted(row.to for row in rows) == sorted(to)
        assert {(row.state, row.attempts) for row in rows} == {("pending", 0)}  # the request sent nothing
        if self.mode == "refuse":
            self._assert_refused(rows)
        else:
            self._assert_retried_then_sent(rows, subject)

    def _assert_retried_then_sent(self, rows: list[Delivery], subject: str | tuple[str, ...]) -> None:
        assert engine.deliver_due() == {"retry": len(rows)}
        now = self.clock.now()
        waiting = [Delivery.objects.get(pk=row.pk) for row in rows]
        assert {(row.state, row.last_error) for row in waiting} == {("pending", TRANSIENT_ERRORS[self.mode])}
        assert all(row.next_attempt_at > now for row in waiting)
        assert self.server.received == []

        accept_again(self.server)
        self.clock.advance(max((row.next_attempt_at - now).total_seconds() for row in waiting) + 1)
        assert engine.deliver_due() == {"sent": len(rows)}

        received = self.server.received
        assert sorted(rcpt for mail in received for rcpt in mail.recipients) == sorted(row.to for row in rows)
        subjects = [subject] * len(rows) if isinstance(subject, str) else list(subject)
        assert all(headers(mail)[0] == mail.recipients[0] for mail in received), [headers(mail) for mail in received]
        assert sorted(headers(mail)[1] for mail in received) == sorted(subjects), [headers(mail) for mail in received]
        assert set(Delivery.objects.filter(pk__in=[row.pk for row in rows]).values_list("state", flat=True)) == {
            "sent"}
        self.clock.advance(3600)
        assert engine.deliver_due() == {} and engine.sweep() == engine.SweepResult()
        assert len(self.server.received) == len(rows)

    def _assert_refused(self, rows: list[Delivery]) -> None:
        assert engine.deliver_due() == {"failed": len(rows)}
        for row in rows:
            failed = Delivery.objects.get(pk=row.pk)
            assert (failed.state, failed.last_error) == ("failed", "recipient_refused")
            event = AuditEvent.objects.get(event_type=DELIVERY_FAILED, data__delivery=row.pk)
            assert event.target_user_id == row.user_id and event.data["smtp_code"] == 550
        accept_again(self.server)
        self.clock.advance(3600)
        assert engine.deliver_due() == {} and engine.sweep() == engine.SweepResult()
        assert self.server.received == []


@pytest.fixture(params=["down", "hang", "tempfail", "refuse"])
def fault(request, settings, clock):
    server = SMTPServer()
    try:
        yield MailFault(request.param, server, settings, clock)
    finally:
        stop(server)


def fully_signed_in(user) -> Client:
    """A browser signed in as ``user`` with the test-only second factor and just re-authenticated."""
    browser = Client()
    if not FakeDevice.objects.filter(user=user, confirmed=True).exists():
        add_fake_device(user)
    assert sign_in(browser, user).status_code == 302
    assert reauthenticate(browser, user).status_code == 302
    return browser


def policy_url(agency) -> str:
    return reverse("agencies:security_policy", args=[agency.pk])


# -- Google Authenticator --------------------------------------------------------------

def test_enable_google_authenticator_with_mail_fault_turns_it_on(fault, reauthenticated_client, user):
    fault.begin()
    with fault.request():
        assert reauthenticated_client.post(TOTP_START).url == TOTP_SETUP
        pending = TOTPDevice.objects.get(user=user, confirmed=False)
        response = reauthenticated_client.post(TOTP_SETUP, {"setup_id": pending.setup_id, "code": code_for(pending)})

    # A first method: set-up goes on to the new backup codes, whose email waits too.
    assert response.status_code == 302 and response.url == BACKUP_NEW
    assert TOTPDevice.objects.get(user=user).confirmed
    assert AuditEvent.objects.filter(event_type=totp_flows.TOTP_ENABLED, target_user=user).count() == 1
    fault.assert_email_follows(to=[user.email, user.email], subject=(
        "Google Authenticator was turned on for your CallTrackingMetrics account",
        "Backup codes were generated for your CallTrackingMetrics account"))


def test_disable_google_authenticator_with_mail_fault_turns_it_off(fault, client, user, clock):
    device = enrol(user)
    assert sign_in_with_totp(client, user, device).status_code == 302
    clock.advance(device.step)
    assert reauthenticate_with_totp(client, device).status_code == 302
    fault.begin()

    with fault.request():
        response = client.post(TOTP_DISABLE)

    assert response.status_code == 302 and response.url == PROFILE
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert sign_in(Client(), user, code=None).url == PROFILE  # no code asked any more
    fault.assert_email_follows(
        to=[user.email], subject="Google Authenticator was turned off for your CallTrackingMetrics account")


# -- Backup codes -----------------------------------------------------------------------

def test_generate_backup_codes_with_mail_fault_shows_the_new_codes(fault, user_with_mfa):
    browser = fully_signed_in(user_with_mfa)
    fault.begin()

    with fault.request():
        response = browser.post(BACKUP_GENERATE)
        page = browser.get(BACKUP_NEW)

    assert response.status_code == 302 and response.url == BACKUP_NEW
    assert page.status_code == 200
    assert len({code for code in CODE_RE.findall(page.content.decode()) if code != "7hx4km-2q9pab"}) == 10
    assert BackupCodeSet.objects.filter(user=user_with_mfa).exists()
    fault.assert_email_follows(
        to=[user_with_mfa.email], subject="Backup codes were generated for your CallTrackingMetrics account")


def test_backup_code_sign_in_with_mail_fault_signs_in_and_spends_one_code(fault, client, user_with_mfa):
    codes = set_up_codes(user_with_mfa)
    fault.begin()

    with fault.request():
        response = sign_in_with_backup_code(client, user_with_mfa, codes[0])
        double_submit = submit_backup_code(client, codes[0])
        retry = submit_backup_code(client, codes[1])  # a user who thought the first try failed
        profile = client.get(PROFILE)

    assert response.status_code == 302 and response.url == PROFILE
    assert double_submit.url == PROFILE and retry.url == PROFILE
    assert profile.status_code == 200
    assert profile.wsgi_request.user == user_with_mfa and profile.wsgi_request.user.is_verified()
    assert selectors.remaining_count(BackupCodeSet.objects.get(user=user_with_mfa)) == 9
    assert AuditEvent.objects.filter(event_type=backup_code_flows.USED).count() == 1
    fault.assert_email_follows(
        to=[user_with_mfa.email], subject="A backup code was used on your CallTrackingMetrics account")


# -- Password -----------------------------------------------------------------------------

def change_password(browser):
    return browser.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
    })


def test_password_change_with_mail_fault_keeps_the_user_signed_in(fault, signed_in_client, user):
    fault.begin()

    with fault.request():
        response = change_password(signed_in_client)
        profile = signed_in_client.get(PROFILE)

    assert response.status_code == 302 and response.url == PROFILE
    assert profile.status_code == 200 and profile.wsgi_request.user == user
    assert "Your password was changed." in profile.content.decode()
    assert sign_in(Client(), user, password=NEW_PASSWORD, code=None).url == PROFILE
    assert sign_in(Client(), user, code=None).status_code == 200  # the old password no longer works
    assert AuditEvent.objects.filter(event_type=audit.PASSWORD_CHANGED, actor=user).count() == 1
    fault.assert_email_follows(to=[user.email], subject="Your CallTrackingMetrics password was changed")


def test_password_change_with_hanging_mail_server_answers_without_waiting_for_it(signed_in_client, user, settings,
                                                                                  clock):
    hanging = MailFault("hang", SMTPServer(), settings, clock)
    try:
        hanging.begin()
        settings.EMAIL_TIMEOUT = 30  # a request that waited on the server would take this long
        started = time.monotonic()
        with hanging.request():
            response = change_password(signed_in_client)
        assert time.monotonic() - started < 10
        assert response.status_code == 302 and response.url == PROFILE
        assert hanging.server._held == []
        assert [row.state for row in rows_since(hanging.since)] == ["pending"]
    finally:
        stop(hanging.server)


# -- Agency administration -------------------------------------------------------------------

def test_admin_reset_with_mail_fault_removes_the_members_method(fault, acme):
    add_fake_device(acme.alice)
    alice_browser = Client()
    assert sign_in(alice_browser, acme.alice).status_code == 302
    owner = fully_signed_in(acme.owner)
    member_method = reverse("agencies:member_method", args=[acme.agency.pk, acme.alice.pk, "fake"])
    open_after_step_up(owner, acme.owner, member_method)  # asked on every visit
    fault.begin()

    with fault.request():
        response = owner.post(member_method)

    assert response.status_code == 302
    assert response.url == reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])
    assert not FakeDevice.objects.filter(user=acme.alice).exists()
    assert alice_browser.get(PROFILE).status_code == 302  # her sessions ended with the reset
    assert AuditEvent.objects.filter(event_type=agency_flows.MEMBER_METHOD_RESET, target_user=acme.alice).exists()
    fault.assert_email_follows(to=[acme.alice.email], subject="Fake code was reset on your CallTrackingMetrics account")


def test_turn_policy_on_with_mail_fault_emails_each_member_without_two_factor_once(fault, acme):
    owner = fully_signed_in(acme.owner)
    fault.begin()

    with fault.request():
        response = owner.post(policy_url(acme.agency), policy_form(require_two_factor="on", grace_days="7",
                                                                   confirm="1"))

    assert response.status_code == 302 and response.url == policy_url(acme.agency)
    acme.agency.refresh_from_db()
    assert acme.agency.require_two_factor and acme.agency.two_factor_grace_days == 7
    fault.assert_email_follows(to=[acme.admin.email, acme.alice.email, acme.bob.email],
                               subject="Acme Agency now requires two-factor authentication")


def test_turn_policy_off_with_mail_fault_emails_each_member_without_two_factor_once(fault, acme):
    owner = fully_signed_in(acme.owner)
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=7)
    fault.begin()

    with fault.request():
        response = owner.post(policy_url(acme.agency), policy_form(grace_days="0"))

    assert response.status_code == 302 and response.url == policy_url(acme.agency)
    acme.agency.refresh_from_db()
    assert not acme.agency.require_two_factor
    fault.assert_email_follows(to=[acme.admin.email, acme.alice.email, acme.bob.email],
                               subject="Acme Agency no longer requires two-factor authentication")
