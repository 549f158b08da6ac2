"""Shared by the Parent Settings > Security tests: the form as a browser posts it, and members with methods."""
import itertools

from django.contrib.auth.hashers import make_password
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from accounts.models import User
from agencies.models import Agency, Membership, Role
from mfa.sms.models import SMSDevice
from mfa.totp.models import TOTPDevice
from mfa.webauthn.models import WebAuthnCredential
from tests.conftest import add_fake_device, reauthenticate, sign_in
from tests.fake_method.models import FakeDevice

ALL_METHODS = ["totp", "sms", "webauthn", "fake"]
_serial = itertools.count(1)


def policy_url(agency) -> str:
    return reverse("agencies:security_policy", args=[agency.pk])


def policy_form(**changes) -> dict:
    """The Security form with the defaults (every method allowed, nothing required), plus ``changes``."""
    data = {"grace_days": "0", "allowed_methods": list(ALL_METHODS), "allow_backup_codes": "on",
            "allow_trusted_browsers": "on", "trusted_browser_days": "30", "step_up_minutes": "10"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def owner_client(owner, *, with_device: bool = True) -> Client:  # with_device: give a fake method first
    """The Owner signed in and just re-authenticated (the Security page is behind step-up)."""
    client = Client()
    if with_device:
        add_fake_device(owner)
    assert sign_in(client, owner).status_code == 302
    assert reauthenticate(client, owner).status_code == 302
    return client


def agency_state(agency) -> dict:
    """Every column of the agency's row, to assert that a refused change changed nothing."""
    return model_to_dict(Agency.objects.get(pk=agency.pk))


def give_methods(user, keys) -> None:
    """Give ``user`` a confirmed device of each method in ``keys``."""
    for key in keys:
        n = next(_serial)
        if key == "fake":
            add_fake_device(user)
        elif key == "sms":
            SMSDevice.objects.create(user=user, name="phone", confirmed=True, number=f"+1415555{n:04}")
        elif key == "totp":
            TOTPDevice.objects.create(user=user, name="app", confirmed=True, secret="JBSWY3DPEHPK3PXP")
        elif key == "webauthn":
            WebAuthnCredential.objects.create(user=user, name="key", confirmed=True, credential_id=f"cred-{n}",
                                              public_key=b"\x00", user_handle=f"handle-{user.pk}")
        else:
            raise ValueError(key)


def add_members(agency, mix: dict[tuple[str, ...], int], *, prefix: str, active: bool = True) -> list[User]:
    """Add members in bulk: ``mix`` maps a tuple of method keys to how many members have exactly those."""
    unusable = make_password(None)
    users, plan = [], []
    for keys, count in mix.items():
        for _ in range(count):
            n = next(_serial)
            users.append(User(email=f"{prefix}{n:05}@gen.test", name=f"{prefix.title()} {n:05}",
                              password=unusable, is_active=active))
            plan.append(keys)
    users = User.objects.bulk_create(users)
    Membership.objects.bulk_create([Membership(agency=agency, user=user, role=Role.USER) for user in users])
    FakeDevice.objects.bulk_create([FakeDevice(user=u, name="fake", confirmed=True, code="1")
                                    for u, keys in zip(users, plan, strict=True) if "fake" in keys])
    TOTPDevice.objects.bulk_create([TOTPDevice(user=u, name="app", confirmed=True, secret="JBSWY3DPEHPK3PXP")
                                    for u, keys in zip(users, plan, strict=True) if "totp" in keys])
    SMSDevice.objects.bulk_create([SMSDevice(user=u, name="phone", confirmed=True, number=f"+1415{u.pk:07}")
                                   for u, keys in zip(users, plan, strict=True) if "sms" in keys])
    WebAuthnCredential.objects.bulk_create([
        WebAuthnCredential(user=u, name="key", confirmed=True, credential_id=f"gen-{u.pk}", public_key=b"\x00",
                           user_handle=f"handle-{u.pk}")
        for u, keys in zip(users, plan, strict=True) if "webauthn" in keys])
    return users
