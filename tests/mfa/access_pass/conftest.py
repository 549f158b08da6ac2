"""Fixtures for the temporary access pass tests.

Passes are issued through the product's own flow (or the administrator's
page), never written by hand. The members' lost primary method is the
test-only fake method (code 424242); the new one is Google Authenticator,
set up through its pages.
"""
import re

from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse

from agencies import permissions
from mfa.access_pass import flows
from mfa.totp.models import TOTPDevice
from tests.conftest import PASSWORD, add_fake_device, open_after_step_up, reauthenticate, sign_in
from tests.mfa.totp.conftest import code_for, to_middle_of_a_step

PASS_SHOWN = re.compile(r'data-access-pass>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>')
NOT_VALID = "That temporary access pass is not valid."


def flow_request(user=None):
    """A request as the flows receive it (session and messages included)."""
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def issue(actor, target, agency, *, hours: int = 24) -> str:
    """Issue ``target`` a pass through the flow; return it as the administrator reads it out."""
    return flows.issue_pass(flow_request(actor), actor=actor, target=target, agency=agency, lifetime_hours=hours,
                            may_manage=permissions.can_manage_user).display


def pass_url(agency, member) -> str:
    return reverse("agencies:member_access_pass", args=[agency.pk, member.pk])


def revoke_url(agency, member) -> str:
    return reverse("agencies:member_access_pass_revoke", args=[agency.pk, member.pk])


def admin_client(actor) -> Client:
    """A client signed in as ``actor`` (with the fake method) and freshly re-authenticated."""
    client = Client()
    add_fake_device(actor)
    assert sign_in(client, actor).status_code == 302
    assert reauthenticate(client, actor).status_code == 302
    return client


def issue_on_page(client, actor, agency, member, *, hours="24"):
    """Open the member's pass page after step-up and press "Issue a temporary access pass"."""
    page = open_after_step_up(client, actor, pass_url(agency, member))
    return page, client.post(pass_url(agency, member), {"lifetime_hours": hours})


def shown_pass(response) -> str:
    match = PASS_SHOWN.search(response.content.decode())
    assert match, "no pass on the page"
    return match.group(1)


def start_sign_in(client, user, *, password: str = PASSWORD):
    response = client.post(reverse("accounts:login"), {"email": user.email, "password": password})
    assert response.status_code == 302 and response.url == reverse("accounts:login_verify"), response
    return response


def submit_pass(client, code: str):
    """Answer step 2 as the "Use a temporary access pass" page posts it."""
    return client.post(reverse("accounts:login_verify"), {"method": "access_pass", "code": code})


def sign_in_with_pass(client, user, code: str):
    start_sign_in(client, user)
    return submit_pass(client, code)


def set_up_totp_on_pages(client, user) -> TOTPDevice:
    """Set up Google Authenticator through its pages, as the held user does; return the new device."""
    to_middle_of_a_step()
    assert client.get(reverse("mfa:totp:manage")).status_code == 200
    assert client.post(reverse("mfa:totp:start")).url == reverse("mfa:totp:setup")
    assert client.get(reverse("mfa:totp:setup")).status_code == 200
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("mfa:totp:setup"), {"setup_id": pending.setup_id, "code": code_for(pending)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return TOTPDevice.objects.get(user=user, confirmed=True)
