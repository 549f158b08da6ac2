"""Edit user > Multi-Factor Methods > Add/Edit > Disable: an administrator's reset."""
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from agencies import flows
from mfa.app_settings import app_settings as mfa_settings
from mfa.registry import get_method
from tests.concurrency import run_concurrently
from tests.conftest import add_fake_device, open_after_step_up, reauthenticate, sign_in
from tests.fake_method.models import FakeDevice


def reset_url(agency, user, method_key: str = "fake") -> str:
    return reverse("agencies:member_method", args=[agency.pk, user.pk, method_key])


def admin_client(actor) -> Client:
    """A client signed in as ``actor`` and freshly re-authenticated."""
    client = Client()
    add_fake_device(actor)
    assert sign_in(client, actor).status_code == 302
    assert reauthenticate(client, actor).status_code == 302
    return client


# (actor, target, allowed): the seed's rules, every combination inside Acme.
ROLE_MATRIX = [
    ("owner", "admin", True),
    ("owner", "alice", True),
    ("admin", "alice", True),
    ("admin", "owner", False),
    ("alice", "bob", False),
    ("alice", "admin", False),
    ("alice", "owner", False),
]


@pytest.mark.parametrize(("actor_name", "target_name", "allowed"), ROLE_MATRIX)
def test_reset_permission_matrix(acme, actor_name, target_name, allowed, django_capture_on_commit_callbacks):
    actor, target = getattr(acme, actor_name), getattr(acme, target_name)
    client = admin_client(actor)
    if not FakeDevice.objects.filter(user=target).exists():
        add_fake_device(target)
    with django_capture_on_commit_callbacks(execute=True):
        page = open_after_step_up(client, actor, reset_url(acme.agency, target))
        response = client.post(reset_url(acme.agency, target))
    if allowed:
        assert page.status_code == 200 and b"Disable" in page.content
        assert response.status_code == 302
        assert not FakeDevice.objects.filter(user=target).exists()
    else:
        assert page.status_code == 404 and response.status_code == 404
        assert FakeDevice.objects.filter(user=target).exists()


def test_admin_cannot_reset_another_admin(acme, make_user):
    from agencies.flows import add_member
    from agencies.models import Role

    other_admin = make_user("admin2@acme.test")
    add_member(agency=acme.agency, user=other_admin, role=Role.ADMIN)
    add_fake_device(other_admin)
    client = admin_client(acme.admin)
    assert open_after_step_up(client, acme.admin, reset_url(acme.agency, other_admin)).status_code == 404
    assert client.post(reset_url(acme.agency, other_admin)).status_code == 404
    assert FakeDevice.objects.filter(user=other_admin).exists()


def test_reset_of_user_in_another_agency_is_404(acme, solo):
    add_fake_device(solo.owner)
    client = admin_client(acme.owner)
    # The Solo owner's id through Acme's URL, and Acme's alice through Solo's URL.
    for url in (reset_url(acme.agency, solo.owner), reset_url(solo.agency, acme.alice)):
        assert open_after_step_up(client, acme.owner, url).status_code == 404
        assert client.post(url).status_code == 404
    assert client.get(reverse("settings:edit_user", args=[acme.agency.pk, solo.owner.pk])).status_code == 404
    assert FakeDevice.objects.filter(user=solo.owner).exists()


def test_reset_destroys_method_ends_sessions_audits_and_emails(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    alice_browser = Client()
    assert sign_in(alice_browser, acme.alice).status_code == 302
    assert alice_browser.get(reverse("accounts:profile")).status_code == 200

    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reset_url(acme.agency, acme.alice))
    assert response.status_code == 302
    assert not FakeDevice.objects.filter(user=acme.alice).exists()

    # Alice's open session ended: her next request goes to sign-in.
    after = alice_browser.get(reverse("accounts:profile"))
    assert after.status_code == 302 and reverse("accounts:login") in after.url

    event = AuditEvent.objects.get(event_type=flows.MEMBER_METHOD_RESET)
    assert (event.actor, event.target_user, event.agency, event.method) == (acme.owner, acme.alice, acme.agency, "fake")
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert "owner@acme.test" in mail.outbox[0].body and "Fake code" in mail.outbox[0].body

    # Next sign-in goes through the new state: no second step, and she can enrol again.
    fresh = Client()
    response = fresh.post(reverse("accounts:login"), {"email": "alice@acme.test", "password": "correct horse battery staple 42"})
    assert response.status_code == 302 and response.url == reverse("accounts:profile")


def test_reset_without_reauthentication_changes_nothing(client, acme):
    add_fake_device(acme.owner)
    add_fake_device(acme.alice)
    sign_in(client, acme.owner)
    response = client.post(reset_url(acme.agency, acme.alice))
    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert FakeDevice.objects.filter(user=acme.alice).exists()
    assert not AuditEvent.objects.filter(event_type=flows.MEMBER_METHOD_RESET).exists()


def test_reset_after_reauth_window_expired_changes_nothing(acme, clock):
    add_fake_device(acme.alice)
    client = admin_client(acme.owner)
    clock.advance(mfa_settings.REAUTH_WINDOW + 1)
    response = client.post(reset_url(acme.agency, acme.alice))
    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert FakeDevice.objects.filter(user=acme.alice).exists()


def test_reset_of_a_method_not_enabled_says_so_and_changes_nothing(acme):
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.bob))
    response = client.post(reset_url(acme.agency, acme.bob), follow=True)
    assert b"was not enabled" in response.content
    assert not AuditEvent.objects.filter(event_type=flows.MEMBER_METHOD_RESET).exists()


def test_reset_of_unknown_method_is_404(acme):
    client = admin_client(acme.owner)
    assert open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice, "nonexistent")).status_code == 404
    assert client.post(reset_url(acme.agency, acme.alice, "nonexistent")).status_code == 404


def test_edit_user_marks_method_in_use_with_green_circle(acme):
    add_fake_device(acme.alice)
    client = admin_client(acme.owner)
    page = client.get(reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])).content.decode()
    row = page[page.index('data-method="fake"'):]
    row = row[: row.index("</tr>")]
    assert "in-use-dot" in row and reset_url(acme.agency, acme.alice) in row


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_duplicate_simultaneous_reset_happens_once(acme):
    add_fake_device(acme.alice)
    method = get_method("fake")
    mail.outbox.clear()

    def reset(_index: int) -> bool:
        return flows.reset_member_method(None, actor=acme.owner, agency=acme.agency, target=acme.alice, method=method)

    results = run_concurrently(reset)
    assert sorted(results) == [False, True], results
    assert AuditEvent.objects.filter(event_type=flows.MEMBER_METHOD_RESET).count() == 1
    assert len(mail.outbox) == 1


def test_admin_cannot_reset_a_user_who_owns_another_agency(acme, make_user):
    """bob is a plain User at Acme but the Owner of his own agency."""
    from agencies.flows import create_agency

    create_agency(name="Bob's Agency", plan_code="growth", owner=acme.bob)
    add_fake_device(acme.bob)
    for actor in (acme.admin, acme.owner):
        client = admin_client(actor) if not FakeDevice.objects.filter(user=actor).exists() else _signed(actor)
        assert open_after_step_up(client, actor, reset_url(acme.agency, acme.bob)).status_code == 404
        assert client.post(reset_url(acme.agency, acme.bob)).status_code == 404
    assert FakeDevice.objects.filter(user=acme.bob).exists()


def test_owner_may_reset_an_admin_of_another_agency_they_also_own(acme, make_user):
    from agencies.flows import add_member, create_agency
    from agencies.models import Role

    second = create_agency(name="Acme West", plan_code="growth", owner=acme.owner)
    add_member(agency=second, user=acme.alice, role=Role.ADMIN)
    add_fake_device(acme.alice)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice))
    assert client.post(reset_url(acme.agency, acme.alice)).status_code == 302
    assert not FakeDevice.objects.filter(user=acme.alice).exists()


def _signed(actor) -> Client:
    client = Client()
    assert sign_in(client, actor).status_code == 302
    assert reauthenticate(client, actor).status_code == 302
    return client
