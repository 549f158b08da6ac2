"""Grace-period reminders at 7, 3 and 1 days before the deadline, once each; the banner's date and agency."""
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Delivery
from agencies import flows
from agencies.flows import add_member, create_agency
from agencies.models import PolicyReminder, Role
from agencies.tasks import POLICY_REMINDERS_TASK, send_policy_reminders
from ctm_auth.dates import format_day
from tests.agencies.policy_helpers import give_methods
from tests.conftest import add_fake_device, sign_in

DAY = 86400
KIND = "agencies/email/policy_reminder"


def require(agency, owner, *, grace_days: int, allowed: list[str] | None = None):
    return flows.set_security_policy(None, actor=owner, agency=agency, confirmed=True, acknowledged=True,
                                     policy=flows.SecurityPolicy(required=True, grace_days=grace_days,
                                                                 allowed_methods=allowed or []))


def reminded() -> list[tuple[str, str]]:
    """(email, subject) of every reminder in the outbox, sorted."""
    return sorted((row.to, row.kind) for row in Delivery.objects.filter(kind=KIND))


def test_reminders_go_at_7_3_and_1_days_once_each(acme, clock, django_capture_on_commit_callbacks):
    add_fake_device(acme.owner)
    add_fake_device(acme.alice)  # compliant: never reminded
    require(acme.agency, acme.owner, grace_days=10)
    elapsed = 0

    def days_left_then_run(days: float) -> int:
        """Move the clock to ``days`` before the deadline, then run the reminders."""
        nonlocal elapsed
        clock.advance((10 - days) * DAY - elapsed)
        elapsed = (10 - days) * DAY
        return flows.send_policy_reminders()

    assert days_left_then_run(8) == 0
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert days_left_then_run(7) == 2
    assert reminded() == [("admin@acme.test", KIND), ("bob@acme.test", KIND)]
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "bob@acme.test"]
    assert days_left_then_run(7 - 1 / 24) == 0  # the next hourly run, the same day (7 days, rounded up)
    assert days_left_then_run(6.1) == 0
    assert len(reminded()) == 2
    assert days_left_then_run(3) == 2
    assert flows.send_policy_reminders() == 0  # run twice
    assert days_left_then_run(2) == 0  # no reminder that day
    assert days_left_then_run(0.5) == 2  # 1 day left, rounded up
    assert days_left_then_run(-1) == 0  # past the deadline: enforced, no more reminders
    assert len(reminded()) == 6
    assert sorted(PolicyReminder.objects.values_list("user__email", "days_before")) == [
        ("admin@acme.test", 1), ("admin@acme.test", 3), ("admin@acme.test", 7),
        ("bob@acme.test", 1), ("bob@acme.test", 3), ("bob@acme.test", 7)]


def test_reminder_names_the_agency_date_methods_and_link(acme, clock, django_capture_on_commit_callbacks):
    add_fake_device(acme.owner)
    agency = require(acme.agency, acme.owner, grace_days=7, allowed=["fake", "totp"])
    clock.advance(60)
    with django_capture_on_commit_callbacks(execute=True):
        flows.send_policy_reminders()
    email = next(m for m in mail.outbox if m.to == ["bob@acme.test"] and "7 days" in m.subject)
    assert email.subject == "Acme Agency requires two-factor authentication in 7 days"
    when = format_day(agency.two_factor_deadline)
    assert f"Two-factor authentication is required from {when} by Acme Agency." in email.body
    assert "Allowed methods: Google Authenticator or Fake code." in email.body
    assert reverse("accounts:two_factor_required") in email.body


def test_members_without_an_allowed_method_are_reminded_inactive_users_are_not(acme, clock, make_user):
    add_fake_device(acme.owner)
    give_methods(acme.alice, ["sms"])  # a method, but not one this agency allows
    add_fake_device(acme.admin)
    gone = make_user("gone@acme.test")
    add_member(agency=acme.agency, user=gone, role=Role.USER)
    gone.is_active = False
    gone.save()
    require(acme.agency, acme.owner, grace_days=3, allowed=["fake"])
    clock.advance(60)
    assert flows.send_policy_reminders() == 2
    assert reminded() == [("alice@acme.test", KIND), ("bob@acme.test", KIND)]


def test_a_second_requiring_agency_sends_its_own_reminders(acme, clock, make_user):
    add_fake_device(acme.owner)
    beta_owner = make_user("owner@beta.test", name="Beth Owner")
    add_fake_device(beta_owner)
    beta = create_agency(name="Beta Agency", plan_code="connect", owner=beta_owner)
    add_member(agency=beta, user=acme.bob, role=Role.USER)
    require(acme.agency, acme.owner, grace_days=7)
    require(beta, beta_owner, grace_days=3)
    clock.advance(60)  # 7 days left at Acme, 3 at Beta
    assert flows.send_policy_reminders() == 4  # Acme: admin, alice, bob; Beta: bob
    rows = sorted(PolicyReminder.objects.values_list("agency__name", "user__email", "days_before"))
    assert ("Beta Agency", "bob@acme.test", 3) in rows and ("Acme Agency", "bob@acme.test", 7) in rows
    assert flows.send_policy_reminders() == 0


def test_a_reminder_another_worker_already_inserted_is_not_sent_again(acme, clock):
    add_fake_device(acme.owner)
    agency = require(acme.agency, acme.owner, grace_days=7)
    clock.advance(60)
    # Another worker's run got bob's row in first: this run must not email him.
    PolicyReminder.objects.create(agency=agency, user=acme.bob, deadline=agency.two_factor_deadline,
                                  days_before=7, run="00000000-0000-0000-0000-000000000001")
    assert flows.send_policy_reminders() == 2
    assert reminded() == [("admin@acme.test", KIND), ("alice@acme.test", KIND)]


def test_a_new_deadline_starts_a_new_series(acme, clock):
    add_fake_device(acme.owner)
    require(acme.agency, acme.owner, grace_days=7)
    clock.advance(60)
    assert flows.send_policy_reminders() == 3
    require(acme.agency, acme.owner, grace_days=10)  # the deadline moves out by three days
    clock.advance(3 * DAY)
    assert flows.send_policy_reminders() == 3


def test_the_beat_runs_the_task_hourly(acme, clock):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == POLICY_REMINDERS_TASK)
    assert entry["schedule"] <= 3600
    add_fake_device(acme.owner)
    require(acme.agency, acme.owner, grace_days=1)
    clock.advance(60)
    assert send_policy_reminders.apply().get() == 3


def test_banner_gives_the_date_and_the_agency(acme, clock):
    add_fake_device(acme.owner)
    agency = require(acme.agency, acme.owner, grace_days=3)
    client = Client()
    sign_in(client, acme.bob, code=None)
    page = client.get(reverse("accounts:profile")).content.decode()
    when = format_day(agency.two_factor_deadline)
    assert f"Two-factor authentication is required from {when} by Acme Agency (3 days left)." in page
    assert f'<a href="{reverse("accounts:two_factor_required")}">Set it up now.</a>' in page


def test_banner_names_the_agency_with_the_earliest_deadline(acme, make_user):
    add_fake_device(acme.owner)
    beta_owner = make_user("owner@beta.test")
    add_fake_device(beta_owner)
    beta = create_agency(name="Beta Agency", plan_code="connect", owner=beta_owner)
    add_member(agency=beta, user=acme.bob, role=Role.USER)
    require(acme.agency, acme.owner, grace_days=10)
    beta = require(beta, beta_owner, grace_days=2)
    client = Client()
    sign_in(client, acme.bob, code=None)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert f"required from {format_day(beta.two_factor_deadline)} by Beta Agency (2 days left)" in page


def test_banner_shows_for_a_member_whose_only_method_is_not_allowed(acme):
    add_fake_device(acme.owner)
    give_methods(acme.alice, ["totp"])
    require(acme.agency, acme.owner, grace_days=5, allowed=["fake"])
    client = Client()
    client.force_login(acme.alice)
    assert "by Acme Agency (5 days left)" in client.get(reverse("accounts:profile")).content.decode()
