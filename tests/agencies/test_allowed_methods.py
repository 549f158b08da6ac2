"""The allowed-methods matrix: method × policy × membership in two agencies.

For each cell, what a member meets at sign-in step 2, at step-up, on the
set-up pages, and whether the policy forces them to set up another method.
Policies are set by writing the Agency's fields (another part builds the
Owner's form), then agencies.policy.forget_agency, as the product does.
Devices are made through each method's own flows, before the policy
changes: the interesting member is the one whose method is no longer allowed.
"""
from dataclasses import dataclass, field
from html import unescape

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.signin import pending_user
from agencies.flows import add_member, create_agency
from agencies.models import Role
from agencies.policy import forget_agency
from ctm_auth import clock
from mfa.backup_codes.models import BackupCodeSet
from mfa.sms import flows as sms_flows
from mfa.sms.models import OutboxMessage, SMSDevice
from mfa.totp.models import TOTPDevice
from mfa.webauthn import flows as webauthn_flows
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import FAKE_CODE, PASSWORD, add_fake_device
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.sms.conftest import NUMBER, last_code
from tests.mfa.totp.conftest import code_for, enrol, flow_request
from tests.webauthn_authenticator import SoftwareAuthenticator, options_on

LOGIN = "/account/login/"
VERIFY = "/account/login/verify/"
REAUTH = "/account/reauthenticate/"
PROFILE = "/account/profile/"
FORCED = "/account/two-factor-required/"
PRIMARY_KEYS = {"totp", "sms", "webauthn", "fake"}
LABELS = {"totp": "Google Authenticator", "sms": "Text Messages", "webauthn": "Passkeys and security keys",
          "fake": "Fake code", "backup_codes": "Backup Codes"}

# Acme Agency's policy (it requires two-factor in every cell).
POLICIES = {
    "any": {"allowed_methods": [], "allow_backup_codes": True},
    "totp_only": {"allowed_methods": ["totp"], "allow_backup_codes": True},
    "phishing_resistant": {"allowed_methods": ["webauthn"], "allow_backup_codes": True},
    "backup_codes_off": {"allowed_methods": [], "allow_backup_codes": False},
}
# The member's second agency, Beta Agency (Growth).
MEMBERSHIPS = {
    "acme_only": None,
    # Both require: the intersection of the allowed methods.
    "both_require": {"require_two_factor": True, "allowed_methods": ["sms", "webauthn"], "allow_backup_codes": True},
    # Beta does not require: its method list and backup-codes switch bind nobody.
    "one_requires": {"require_two_factor": False, "allowed_methods": ["fake"], "allow_backup_codes": False},
}


def allowed(method: str, policy: str, membership: str) -> bool:
    rules = [POLICIES[policy]["allowed_methods"]]
    beta = MEMBERSHIPS[membership]
    if beta and beta["require_two_factor"]:
        rules.append(beta["allowed_methods"])
    return all(not keys or method in keys for keys in rules)


def codes_allowed(policy: str, membership: str) -> bool:
    beta = MEMBERSHIPS[membership]
    return POLICIES[policy]["allow_backup_codes"] and not (
        beta and beta["require_two_factor"] and not beta["allow_backup_codes"])


def allowed_primaries(policy: str, membership: str) -> set[str]:
    return {key for key in PRIMARY_KEYS if allowed(key, policy, membership)}


def apply_policy(acme, policy: str, membership: str, *, beta_owner) -> None:
    """Acme requires two-factor at once with ``policy``; the member joins Beta per ``membership``."""
    agency = acme.agency
    agency.require_two_factor, agency.two_factor_required_since, agency.two_factor_deadline = True, clock.now(), None
    for name, value in POLICIES[policy].items():
        setattr(agency, name, value)
    agency.save()
    forget_agency(agency)
    beta_fields = MEMBERSHIPS[membership]
    if beta_fields is None:
        return
    beta = create_agency(name="Beta Agency", plan_code="growth", owner=beta_owner)
    add_member(agency=beta, user=acme.alice, role=Role.USER)
    for name, value in beta_fields.items():
        setattr(beta, name, value)
    beta.save()
    forget_agency(beta)


def html(response) -> str:
    return unescape(response.content.decode())


# -- one kit per method: make a device through its flows, answer its challenges --------

@dataclass
class Kit:
    key: str
    capture: object  # django_capture_on_commit_callbacks: texts go out after the commit
    authenticator: SoftwareAuthenticator = field(default_factory=SoftwareAuthenticator)

    def enrol(self, user) -> None:
        if self.key == "totp":
            enrol(user)
        elif self.key == "fake":
            add_fake_device(user)
        elif self.key == "sms":
            request = flow_request(user)
            with self.capture(execute=True):
                assert sms_flows.start_enrolment(request, user=user, number=NUMBER).sent
            assert sms_flows.confirm_setup_code(request, user=user, code=last_code(NUMBER)).ok
        else:
            request = flow_request(user)
            request._messages = FallbackStorage(request)
            options = webauthn_flows.registration_options(request, user=user)
            assert webauthn_flows.add_key(request, user=user, name="Key", answer=self.authenticator.create(options)).ok

    def step_two(self, client):
        """Open step 2 with this method; return (page, the right answer)."""
        with self.capture(execute=True):
            page = client.get(VERIFY, {"method": self.key})
        return page, self._answer(page)

    def step_up(self, client):
        """Open "Confirm it's you" with this method (texting a code for SMS); return (page, the right answer)."""
        with self.capture(execute=True):
            if self.key == "sms":
                page = client.post(REAUTH, {"method": "sms", "resend": "1", "password": PASSWORD})
            else:
                page = client.get(REAUTH, {"method": self.key})
        return page, self._answer(page) if page.context["method"] is not None else ""

    def _answer(self, page) -> str:
        if self.key == "totp":
            return code_for(TOTPDevice.objects.get(user=_user_of(page), confirmed=True))
        if self.key == "fake":
            return FAKE_CODE
        if self.key == "sms":
            return last_code(NUMBER)
        return self.authenticator.get(options_on(page))


def _user_of(page):
    """The user step 2 or step-up is for (pending at step 2, signed in at step-up)."""
    return pending_user(page.wsgi_request) or page.wsgi_request.user


@pytest.fixture
def beta_owner(make_user):
    return make_user("owner@beta.test", name="Betty Owner")


method_param = pytest.mark.parametrize("method", ["totp", "sms", "webauthn", "fake"])
set_up_param = pytest.mark.parametrize("method", ["totp", "sms", "webauthn"])  # the fake has no set-up page
policy_param = pytest.mark.parametrize("policy", list(POLICIES))
membership_param = pytest.mark.parametrize("membership", list(MEMBERSHIPS))


def signed_in_as(client):
    return client.get(reverse("accounts:logout")).wsgi_request.user


# -- sign-in step 2 ------------------------------------------------------------

@method_param
@policy_param
@membership_param
def test_step_two_offers_and_accepts_only_allowed_methods(acme, beta_owner, method, policy, membership,
                                                          django_capture_on_commit_callbacks):
    kit, alice = Kit(method, django_capture_on_commit_callbacks), acme.alice
    kit.enrol(alice)
    set_up_codes(alice)
    apply_policy(acme, policy, membership, beta_owner=beta_owner)
    client = Client()

    response = client.post(LOGIN, {"email": alice.email, "password": PASSWORD})

    if not allowed(method, policy, membership):
        # Not enrolled under the policy: the password signs in, no step 2 is asked.
        assert response.status_code == 302 and response.url == PROFILE
        assert signed_in_as(client) == alice
        assert AuditEvent.objects.get(event_type="signin.succeeded").method == "password"
        return
    assert response.status_code == 302 and response.url == VERIFY
    page, answer = kit.step_two(client)
    assert page.context["method"].key == method
    alternatives = {m.key for m in page.context["alternatives"]}
    assert alternatives == ({"backup_codes"} if codes_allowed(policy, membership) else set())

    response = client.post(VERIFY, {"method": method, "code": answer})

    assert response.status_code == 302 and response.url == PROFILE
    assert signed_in_as(client) == alice
    assert AuditEvent.objects.get(event_type="signin.succeeded").method == method


# -- step-up -------------------------------------------------------------------

@method_param
@policy_param
@membership_param
def test_step_up_offers_and_accepts_only_allowed_methods(acme, beta_owner, method, policy, membership,
                                                         django_capture_on_commit_callbacks):
    kit, alice = Kit(method, django_capture_on_commit_callbacks), acme.alice
    kit.enrol(alice)
    set_up_codes(alice)
    apply_policy(acme, policy, membership, beta_owner=beta_owner)
    client = Client()
    client.force_login(alice)  # signed in earlier; the window has long passed

    page, answer = kit.step_up(client)

    if not allowed(method, policy, membership):
        # No allowed second factor: the password alone confirms, as for a member with none.
        assert page.context["method"] is None and "code" not in page.context["form"].fields
        response = client.post(REAUTH, {"password": PASSWORD})
        assert response.status_code == 302
        assert client.session["reauth_second_factor"] is False
        assert client.get(reverse("mfa:default_method")).status_code == 200  # the window is open
        assert AuditEvent.objects.get(event_type="reauth.succeeded").method == "password"
        return
    assert page.context["method"].key == method
    alternatives = {m.key for m in page.context["alternatives"]}
    assert alternatives == ({"backup_codes"} if codes_allowed(policy, membership) else set())

    response = client.post(REAUTH, {"password": PASSWORD, "method": method, "code": answer})

    assert response.status_code == 302
    assert client.session["reauth_second_factor"] is True
    assert AuditEvent.objects.get(event_type="reauth.succeeded").method == method


# -- set-up pages --------------------------------------------------------------

def _try_set_up(client, method: str, authenticator: SoftwareAuthenticator, capture):
    """Press the method's set-up button as its page would; return the response."""
    if method == "totp":
        return client.post(reverse("mfa:totp:start"))
    if method == "sms":
        with capture(execute=True):
            return client.post(reverse("mfa:sms:manage"), {"number": NUMBER})
    page = client.get(reverse("mfa:webauthn:manage"))
    if page.status_code != 200:
        return page
    return client.post(reverse("mfa:webauthn:add"), {"name": "Key", "credential": authenticator.create(
        options_on(page))})


def _devices(user) -> int:
    return (TOTPDevice.objects.filter(user=user).count() + SMSDevice.objects.filter(user=user).count()
            + WebAuthnCredential.objects.filter(user=user).count() + OutboxMessage.objects.count())


@set_up_param
@policy_param
@membership_param
def test_set_up_pages_refuse_what_the_policy_does_not_allow(acme, beta_owner, method, policy, membership,
                                                            django_capture_on_commit_callbacks):
    alice = acme.alice
    apply_policy(acme, policy, membership, beta_owner=beta_owner)
    client = Client()
    assert client.post(LOGIN, {"email": alice.email, "password": PASSWORD}).status_code == 302
    assert client.post(REAUTH, {"password": PASSWORD}).status_code == 302  # no method yet: the password

    response = _try_set_up(client, method, SoftwareAuthenticator(), django_capture_on_commit_callbacks)

    if allowed(method, policy, membership):
        # A passkey is added at once: a first method goes on to backup codes only while they are allowed.
        after_key = reverse("mfa:backup_codes:new") if codes_allowed(policy, membership) else PROFILE
        assert response.status_code == 302
        assert response.url == {"totp": reverse("mfa:totp:setup"), "sms": reverse("mfa:sms:verify"),
                                "webauthn": after_key}[method]
        assert _devices(alice) == 1
        assert BackupCodeSet.objects.filter(user=alice).exists() == (
            method == "webauthn" and codes_allowed(policy, membership))
        return
    assert response.status_code == 302 and response.url == f"{PROFILE}#multi-factor-methods"
    assert _devices(alice) == 0  # nothing created, no text sent
    shown = html(client.get(response.url, follow=True))
    assert f"does not allow {LABELS[method]}." in shown
    choices = allowed_primaries(policy, membership) - {"fake"}
    if choices:
        assert "Set up " in shown and all(LABELS[key] in shown.split("does not allow")[1] for key in choices)
    else:
        assert "Your agencies' policies have no method in common; ask an administrator." in shown


# -- enforcement ---------------------------------------------------------------

@method_param
@policy_param
@membership_param
def test_a_member_whose_only_method_is_refused_is_forced_to_set_up_an_allowed_one(
        acme, beta_owner, method, policy, membership, django_capture_on_commit_callbacks):
    kit, alice = Kit(method, django_capture_on_commit_callbacks), acme.alice
    kit.enrol(alice)
    apply_policy(acme, policy, membership, beta_owner=beta_owner)
    client = Client()

    response = client.post(LOGIN, {"email": alice.email, "password": PASSWORD})

    if allowed(method, policy, membership):
        assert response.url == VERIFY
        _page, answer = kit.step_two(client)
        assert client.post(VERIFY, {"method": method, "code": answer}).status_code == 302
        assert client.get(PROFILE).status_code == 200  # enrolled: not forced
        return
    assert response.url == PROFILE  # signed in by the password alone
    landing = client.get(PROFILE)
    assert landing.status_code == 302 and landing.url == FORCED
    page = client.get(FORCED)
    offered = {row.key for row in page.context["methods"]}
    assert offered == allowed_primaries(policy, membership)
    text = html(page)
    if not offered:
        assert "Your agencies' policies have no method in common; ask an administrator." in text
    else:
        assert f"Your agency no longer allows the method you set up ({LABELS[method]})" in text
