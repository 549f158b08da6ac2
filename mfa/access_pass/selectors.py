"""Read-only queries about a user's temporary access passes."""
from dataclasses import dataclass
from datetime import datetime

from django.utils.crypto import salted_hmac

from ctm_auth import clock
from mfa.access_pass.models import AccessPass, Status
from mfa.registry import active_methods

_DEVICE_SALT = "ctm_auth.mfa.access_pass.device"


def live_pass(user) -> AccessPass | None:
    """Return the user's pass that still works, or None."""
    if getattr(user, "pk", None) is None:
        return None
    return AccessPass.objects.live().filter(user=user).first()


@dataclass(frozen=True)
class PassState:
    """What the administrator's Edit page says about a member's latest pass."""

    state: str  # "none", "active", "used", "expired" or "revoked"
    access_pass: AccessPass | None = None

    @property
    def is_live(self) -> bool:
        return self.state == Status.ACTIVE

    @property
    def at(self) -> datetime | None:
        """The time the state names: until when it works, or when it was used, revoked or expired."""
        p = self.access_pass
        if p is None:
            return None
        return {"active": p.expires_at, "used": p.used_at, "revoked": p.revoked_at, "expired": p.expires_at}[self.state]


def state_for(user) -> PassState:
    """Return the state of the user's latest pass; a pass past expiry reads "expired" before the sweep runs."""
    latest = (AccessPass.objects.filter(user=user).select_related("issued_by", "revoked_by")
              .order_by("-created_at", "-pk").first())
    if latest is None:
        return PassState("none")
    if latest.status == Status.ACTIVE and latest.expires_at <= clock.now():
        return PassState(Status.EXPIRED, latest)
    return PassState(latest.status, latest)


def unsettled_pass(user, pass_id: int | None = None) -> AccessPass | None:
    """Return the used pass whose user has not set up a new primary method yet, or None."""
    passes = AccessPass.objects.filter(user=user, status=Status.USED, settled_at__isnull=True)
    if pass_id is not None:
        passes = passes.filter(pk=pass_id)
    return passes.order_by("-used_at").first()


def device_hash(identity: str) -> str:
    """Return a keyed hash of a device identity (it may hold a phone number, which is not copied here)."""
    return salted_hmac(_DEVICE_SALT, identity, algorithm="sha256").hexdigest()


def primary_device_hashes(user, methods=None) -> set[str]:
    """Return the hashes of the user's active primary devices (of ``methods``, default every active one)."""
    methods = active_methods(user) if methods is None else methods
    return {device_hash(method.device_identity(device))
            for method in methods if method.is_primary for device in method.active_devices(user)}
