"""Sign-in step 2 with "Use a temporary access pass": once, by its own user, never for step-up."""
from django.core import mail
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from mfa.access_pass import flows
from mfa.access_pass.models import AccessPass, Status
from tests.conftest import PASSWORD, add_fake_device, sign_in
from tests.mfa.access_pass.conftest import (
    NOT_VALID,
    flow_request,
    issue,
    sign_in_with_pass,
    start_sign_in,
    submit_pass,
)


def test_sign_in_with_password_and_pass_lands_on_set_up(acme, client, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency)
    start_sign_in(client, acme.alice)
    step_two = client.get(reverse("accounts:login_verify")).content.decode()
    assert "Use a temporary access pass" in step_two
    offered = client.get(reverse("accounts:login_verify"), {"method": "access_pass"}).content.decode()
    assert "Enter the temporary access pass your administrator gave you." in offered
    assert 'inputmode="text"' in offered

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_pass(client, code.lower().replace("-", " "))  # as typed from a phone call
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(acme.alice.pk)
    landed = client.get(response.url, follow=True)
    assert landed.redirect_chain[-1][0] == reverse("mfa:access_pass:set_up")
    assert "Set up a new sign-in method" in landed.content.decode()

    row = AccessPass.objects.get(user=acme.alice)
    assert row.status == Status.USED and row.used_at is not None
    used = AuditEvent.objects.get(event_type="access_pass.used")
    assert (used.actor, used.target_user, used.agency) == (acme.alice, acme.alice, acme.agency)
    assert AuditEvent.objects.filter(event_type=audit.SIGN_IN_SUCCEEDED, method="access_pass").count() == 1
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]] and "was used" in mail.outbox[0].subject


def test_a_pass_works_once(acme, client):
    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency)
    assert sign_in_with_pass(client, acme.alice, code).status_code == 302
    client.post(reverse("accounts:logout"))

    # The option has gone from step 2, and the pass posted anyway signs nobody in.
    start_sign_in(client, acme.alice)
    assert "Use a temporary access pass" not in client.get(reverse("accounts:login_verify")).content.decode()
    response = submit_pass(client, code)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(event_type=audit.SIGN_IN_SECOND_FACTOR_FAILED).count() == 1
    # The flow itself gives the plain refusal.
    again = flows.verify_pass(flow_request(), user=acme.alice, code=code, purpose="sign_in")
    assert (again.ok, again.error) == (False, "not_valid") and NOT_VALID in again.message


def test_a_pass_of_another_user_is_refused_and_counted(acme, client):
    add_fake_device(acme.alice)
    add_fake_device(acme.bob)
    issue(acme.admin, acme.alice, acme.agency)
    bobs = issue(acme.admin, acme.bob, acme.agency)
    response = sign_in_with_pass(client, acme.alice, bobs)
    assert response.status_code == 200 and NOT_VALID in response.content.decode()
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.get(event_type=audit.SIGN_IN_SECOND_FACTOR_FAILED)
    assert (failed.target_user, failed.method, failed.data["error"]) == (acme.alice, "access_pass", "not_valid")
    assert AccessPass.objects.get(user=acme.alice).throttling_failure_count == 1
    assert set(AccessPass.objects.values_list("status", flat=True)) == {Status.ACTIVE}  # Bob's still works


def test_a_revoked_pass_is_refused_with_the_same_message(acme, client, clock):
    add_fake_device(acme.alice)
    old = issue(acme.admin, acme.alice, acme.agency)
    issue(acme.admin, acme.alice, acme.agency)  # revokes the old one
    response = sign_in_with_pass(client, acme.alice, old)
    assert response.status_code == 200 and NOT_VALID in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_pass_is_refused(acme, client, clock):
    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency, hours=1)
    clock.advance(3600)
    outcome = flows.verify_pass(flow_request(), user=acme.alice, code=code, purpose="sign_in")
    assert (outcome.ok, outcome.error) == (False, "not_valid")
    start_sign_in(client, acme.alice)
    assert "Use a temporary access pass" not in client.get(reverse("accounts:login_verify")).content.decode()
    assert submit_pass(client, code).status_code == 200 and "_auth_user_id" not in client.session
    assert AccessPass.objects.get(user=acme.alice).used_at is None


def test_wrong_passes_are_throttled_even_the_right_one_during_the_wait(acme, client, clock):
    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency)
    start_sign_in(client, acme.alice)
    assert NOT_VALID in submit_pass(client, "7KQ2-M9XD-4HRB-T6WC").content.decode()
    throttled = submit_pass(client, code)
    assert "Too many attempts" in throttled.content.decode() and "_auth_user_id" not in client.session
    clock.advance(2)
    assert submit_pass(client, code).status_code == 302


def test_malformed_input_is_told_what_a_pass_looks_like(acme, client):
    add_fake_device(acme.alice)
    issue(acme.admin, acme.alice, acme.agency)
    start_sign_in(client, acme.alice)
    page = submit_pass(client, "12345").content.decode()
    assert "A pass has 16 letters and digits, like 7KQ2-M9XD-4HRB-T6WC." in page
    assert AccessPass.objects.get(user=acme.alice).throttling_failure_count == 0  # cannot match: not counted


def test_a_pass_is_never_accepted_for_step_up(acme, client):
    from accounts import audit
    from accounts.models import AuditEvent

    add_fake_device(acme.alice)
    code = issue(acme.admin, acme.alice, acme.agency)
    sign_in(client, acme.alice)
    page = client.get(reverse("accounts:reauthenticate")).content.decode()
    assert "Use a temporary access pass" not in page  # step-up never offers it
    # Posted anyway, the key is ignored: the pass is checked as the user's own method's code, and refused.
    response = client.post(reverse("accounts:reauthenticate"),
                           {"method": "access_pass", "password": PASSWORD, "code": code})
    assert response.status_code == 200
    assert "Confirm it" in response.content.decode()
    assert AuditEvent.objects.filter(event_type=audit.REAUTH_FAILED, target_user=acme.alice).exists()
    assert AccessPass.objects.get(user=acme.alice).status == Status.ACTIVE


def test_a_sign_in_with_the_pass_opens_no_step_up_window(acme, client):
    from accounts import reauth

    add_fake_device(acme.alice)
    sign_in_with_pass(client, acme.alice, issue(acme.admin, acme.alice, acme.agency))
    assert client.session[reauth.SECOND_FACTOR_SESSION_KEY] is False
