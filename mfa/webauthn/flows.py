"""Passkeys and security keys: add, rename, remove, and check them at sign-in and step-up.

Views call one of these and render. Every change is audited through
accounts.audit and mailed through accounts.notify, in the transaction of
the change. The protocol is in ceremony.py; this module decides what a
checked answer means.
"""
import hmac
from dataclasses import dataclass

import django_otp
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from accounts import audit, notify, reauth
from accounts.client import client_ip
from accounts.ratelimit import DatabaseLimit
from ctm_auth import clock
from mfa import policy
from mfa.base.method import Identification, VerifyResult
from mfa.flows import destroy_fallbacks_if_no_primary
from mfa.webauthn import ceremony, errors
from mfa.webauthn.app_settings import app_settings
from mfa.webauthn.models import WebAuthnCredential

METHOD_KEY = "webauthn"
MAX_NAME_LENGTH = 64

# Audit event types (stable codes; the Security Log filters on them).
KEY_ADDED = "mfa.webauthn.added"
KEY_RENAMED = "mfa.webauthn.renamed"
KEY_REMOVED = "mfa.webauthn.removed"
VERIFICATION_FAILED = "mfa.webauthn.verification_failed"
SIGN_COUNT_WENT_BACKWARDS = "mfa.webauthn.possible_clone"

EMAIL_PREFIX = "mfa/webauthn/email/"


# -- reading -------------------------------------------------------------------

def keys_of(user) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk"))


def _descriptors(user) -> list[tuple[str, list[str]]]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True)
                .values_list("credential_id", "transports"))


# -- adding ----------------------------------------------------------------------

def registration_options(request: HttpRequest, *, user) -> dict:
    """Return the options to add a key, excluding the keys already added (the browser says so)."""
    return ceremony.registration_options(
        request, user_handle=_user_handle(user), user_name=user.email,
        display_name=getattr(user, "name", "") or user.email, exclude=_descriptors(user),
    )


def _user_handle(user) -> bytes:
    """The id every key of this user stores: the same for all their keys, never the email or pk.

    The same handle lets an authenticator replace an older passkey of this
    account instead of keeping two. A stored one is kept; without one it is
    an HMAC of the pk under SECRET_KEY, not a fresh random value: two pages
    opened before the first key, or a key added after the last was removed,
    would otherwise each bind the account to a different handle.
    """
    existing = WebAuthnCredential.objects.filter(user=user).values_list("user_handle", flat=True).first()
    if existing:
        return base64url_to_bytes(existing)
    return salted_hmac("mfa.webauthn.user-handle", str(user.pk), algorithm="sha256").digest()


@dataclass(frozen=True)
class AddOutcome:
    key: WebAuthnCredential | None = None
    error: str = ""
    message: str = ""
    field: str | None = None  # the form field the error belongs to, or None for the form

    @property
    def ok(self) -> bool:
        return self.key is not None


def clean_name(name: str) -> str:
    return " ".join(name.split())[:MAX_NAME_LENGTH]


def add_key(request: HttpRequest, *, user, name: str, answer: str) -> AddOutcome:
    """Check the browser's answer to registration_options and save the new key under ``name``."""
    name = clean_name(name)
    if not name:
        return AddOutcome(error="name_missing", message=errors.message_for("name_missing"), field="name")
    try:
        registered = ceremony.verify_registration(request, answer)
    except ceremony.CeremonyError as refused:
        audit.record(request, VERIFICATION_FAILED, target=user, method=METHOD_KEY,
                     data={"purpose": "register", "error": refused.code, "detail": refused.detail[:200]})
        return AddOutcome(error=refused.code, message=errors.message_for(refused.code))
    with transaction.atomic():
        # The user's row serialises two additions (two tabs) against the limit.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        existing = WebAuthnCredential.objects.filter(user=user)
        if existing.count() >= app_settings.MAX_KEYS_PER_USER:
            return AddOutcome(error="too_many_keys",
                              message=errors.message_for("too_many_keys", limit=app_settings.MAX_KEYS_PER_USER))
        if existing.filter(name__iexact=name).exists():
            return AddOutcome(error="name_taken", message=errors.message_for("name_taken"), field="name")
        try:
            with transaction.atomic():
                key = WebAuthnCredential.objects.create(
                    user=user, name=name, confirmed=True, credential_id=registered.credential_id,
                    public_key=registered.public_key, sign_count=registered.sign_count,
                    transports=registered.transports, backup_eligible=registered.backup_eligible,
                    backed_up=registered.backed_up, aaguid=registered.aaguid,
                    user_handle=registered.user_handle, discoverable=registered.discoverable,
                )
        except IntegrityError:  # this credential id is registered already, to this account or another
            return AddOutcome(error="already_registered", message=errors.message_for("already_registered"))
        audit.record(request, KEY_ADDED, target=user, method=METHOD_KEY, data={
            "key_id": key.pk, "name": name, "aaguid": key.aaguid, "synced": key.backed_up,
        })
        notify.send(user, EMAIL_PREFIX + "added", {"key_name": name, "request_ip": client_ip(request)})
    if getattr(request, "user", None) == user:
        # This session just proved it holds the key; as after a TOTP set-up.
        django_otp.login(request, key)
        reauth.mark_second_factor_proven(request, user)
    return AddOutcome(key=key)


# -- renaming and removing -------------------------------------------------------

def rename_key(request: HttpRequest, *, user, key_id: int, name: str) -> AddOutcome:
    name = clean_name(name)
    if not name:
        return AddOutcome(error="name_missing", message=errors.message_for("name_missing"), field="name")
    with transaction.atomic():
        key = WebAuthnCredential.objects.select_for_update().filter(user=user, pk=key_id).first()
        if key is None:
            return AddOutcome(error="unknown_key", message=errors.message_for("unknown_key"))
        if WebAuthnCredential.objects.filter(user=user, name__iexact=name).exclude(pk=key.pk).exists():
            return AddOutcome(error="name_taken", message=errors.message_for("name_taken"), field="name")
        previous = key.name
        if previous == name:
            return AddOutcome(key=key)
        key.name = name
        key.save(update_fields=["name"])
        audit.record(request, KEY_RENAMED, target=user, method=METHOD_KEY,
                     data={"key_id": key.pk, "name": name, "previous": previous})
        notify.send(user, EMAIL_PREFIX + "renamed", {"key_name": name, "previous_name": previous,
                                                      "request_ip": client_ip(request)})
    return AddOutcome(key=key)


def remove_refusal(user, key_id: int) -> str | None:
    """Return why this key may not be removed (the agency requires 2FA and it is the last method), or None."""
    if WebAuthnCredential.objects.filter(user=user, confirmed=True).exclude(pk=key_id).exists():
        return None
    return policy.disable_refusal(user, METHOD_KEY)


def remove_key(request: HttpRequest, *, user, key_id: int) -> str | None:
    """Remove one key; return why not, or None once done. Backup codes go with the last method."""
    with transaction.atomic():
        # As in disable_totp: two removals racing cannot both pass the policy.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        key = WebAuthnCredential.objects.filter(user=user, pk=key_id).first()
        if key is None:
            return errors.message_for("unknown_key")
        refusal = remove_refusal(user, key.pk)
        if refusal:
            return refusal
        key.delete()
        audit.record(request, KEY_REMOVED, target=user, method=METHOD_KEY, data={"key_id": key_id, "name": key.name})
        notify.send(user, EMAIL_PREFIX + "removed", {"key_name": key.name, "request_ip": client_ip(request)})
        destroy_fallbacks_if_no_primary(request, user=user)
    return None


# -- the second factor (sign-in step 2 and step-up) ------------------------------

def failure_limit() -> DatabaseLimit:
    """Refused answers per account at step 2 and step-up; in the database, so a Redis restart lifts nothing."""
    failures, window = app_settings.FAILURES_PER_USER
    return DatabaseLimit("mfa-webauthn-user", failures, window)


def authentication_options(request: HttpRequest, *, user, purpose: str) -> dict:
    """Options for step 2 or step-up, limited to ``user``'s own keys."""
    return ceremony.authentication_options(request, purpose=purpose, user_id=user.pk, allow=_descriptors(user))


def verify_assertion(request: HttpRequest, *, user, answer: str, purpose: str) -> VerifyResult:
    """Check a key's answer at step 2 or step-up; only ``user``'s own keys can pass."""
    wait, bucket = failure_limit().take(str(user.pk))
    if wait:
        return VerifyResult(ok=False, error="throttled", retry_after=wait,
                            message=errors.message_for("throttled", retry_after=wait))
    try:
        assertion = ceremony.read_assertion(request, answer, purpose=purpose)
        if assertion.issued.get("user_id") != user.pk:
            raise ceremony.CeremonyError("wrong_challenge", "challenge issued for another user")
        key = WebAuthnCredential.objects.filter(user=user, confirmed=True,
                                                credential_id=assertion.credential_id).first()
        if key is None:
            other = WebAuthnCredential.objects.filter(credential_id=assertion.credential_id).exists()
            raise ceremony.CeremonyError("unknown_credential", "another user's key" if other else "unknown id")
        _accept(request, key, assertion)
    except ceremony.CeremonyError as refused:
        _record_refusal(request, user, refused, purpose=purpose)
        return VerifyResult(ok=False, error=refused.code, message=errors.message_for(refused.code))
    failure_limit().give_back(str(user.pk), bucket)
    return VerifyResult(ok=True, device=key)


def _accept(request: HttpRequest, key: WebAuthnCredential, assertion: ceremony.Assertion) -> ceremony.CheckedAssertion:
    """Check the signature, then the counter; record the use. Raise CeremonyError when refused.

    A counter that fails to go up, from a key that keeps one, means two
    copies of the private key may be in use: refused, audited and mailed.
    The UPDATE is conditional on the counter read, so two answers racing
    cannot both move it.
    """
    checked = ceremony.check_assertion(request, assertion, public_key=bytes(key.public_key))
    keeps_count = checked.sign_count > 0 or key.sign_count > 0
    if keeps_count and checked.sign_count <= key.sign_count:
        audit.record(request, SIGN_COUNT_WENT_BACKWARDS, target=key.user, method=METHOD_KEY, data={
            "key_id": key.pk, "name": key.name, "stored": key.sign_count, "presented": checked.sign_count,
        })
        notify.send(key.user, EMAIL_PREFIX + "possible_clone", {"key_name": key.name,
                                                                "request_ip": client_ip(request)})
        raise ceremony.CeremonyError("sign_count", f"{checked.sign_count} <= {key.sign_count}")
    now = clock.now()
    moved = WebAuthnCredential.objects.filter(pk=key.pk, sign_count=key.sign_count).update(
        sign_count=checked.sign_count, backed_up=checked.backed_up, last_used_at=now)
    if not moved:
        raise ceremony.CeremonyError("sign_count", "another answer moved the counter first")
    key.sign_count, key.backed_up, key.last_used_at = checked.sign_count, checked.backed_up, now
    return checked


def _record_refusal(request: HttpRequest, user, refused: ceremony.CeremonyError, *, purpose: str) -> None:
    audit.record(request, VERIFICATION_FAILED, actor=None, target=user, method=METHOD_KEY,
                 data={"purpose": purpose, "error": refused.code, "detail": refused.detail[:200]})


# -- sign-in without a password --------------------------------------------------

def sign_in_options(request: HttpRequest) -> dict:
    """Options for "Sign in with a passkey" and the browser's autofill: any passkey of this site."""
    return ceremony.authentication_options(request, purpose="identify", user_id=None, allow=[])


def identify(request: HttpRequest, answer: str) -> Identification:
    """Find the account a passkey belongs to and check its answer.

    With user verification (a PIN or a fingerprint) the passkey is both
    factors; without, it proved only possession, and the caller asks for
    the password too.
    """
    key = None
    try:
        assertion = ceremony.read_assertion(request, answer, purpose="identify")
        key = (WebAuthnCredential.objects.select_related("user")
               .filter(confirmed=True, credential_id=assertion.credential_id, user__is_active=True).first())
        if key is None:
            raise ceremony.CeremonyError("unknown_credential", "no active key with this id")
        # WebAuthn §7.2 step 6: with no allowCredentials the user handle must come back, and be the key's.
        if assertion.user_handle is None:
            raise ceremony.CeremonyError("unknown_credential", "no user handle in a sign-in without a user")
        if not hmac.compare_digest(bytes_to_base64url(assertion.user_handle).encode(), key.user_handle.encode()):
            raise ceremony.CeremonyError("unknown_credential", "user handle does not match the key's")
        checked = _accept(request, key, assertion)
    except ceremony.CeremonyError as refused:
        audit.record(request, VERIFICATION_FAILED, actor=None, target=key.user if key else None,
                     method=METHOD_KEY, data={"purpose": "identify", "error": refused.code,
                                              "detail": refused.detail[:200]})
        return Identification(error=refused.code, message=errors.message_for(refused.code),
                              claimed_user=key.user if key else None)
    return Identification(user=key.user, device=key, both_factors=checked.user_verified)
