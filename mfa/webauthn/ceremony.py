"""The WebAuthn ceremonies, on py_webauthn: options for the browser, and checks of its answers.

This module knows the protocol and nothing of accounts: flows.py decides
what a checked answer means (which user, which key, what to record).

A challenge is random, kept in the session it was issued to (so another
session's answer is refused), lives MFA_WEBAUTHN_CHALLENGE_TIMEOUT seconds
and is spent once, in the database (so two submissions of one answer, even
racing on two app servers, cannot both pass).
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from cryptography.exceptions import UnsupportedAlgorithm
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ctm_auth import clock
from mfa.webauthn.app_settings import app_settings
from mfa.webauthn.models import SpentChallenge

SESSION_KEY = "mfa_webauthn_challenges"
# The smallest authenticator data: a 32-byte RP id hash, 1 byte of flags, a
# 4-byte counter. Anything shorter was cut off on the way.
MIN_AUTHENTICATOR_DATA_BYTES = 37
# WebAuthn §5.1: a credential id is at most 1023 bytes (the column holds its base64url).
MAX_CREDENTIAL_ID_BYTES = 1023
# What py_webauthn lets through, besides its own exceptions, on input it was not built
# for (a COSE map without a key type, a point off the curve): refused, never a 500.
BAD_INPUT_ERRORS = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, UnsupportedAlgorithm)


class CeremonyError(Exception):
    """An answer refused before or during verification; ``code`` is stable, ``detail`` is for the audit log."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: list[str]


def relying_party(request: HttpRequest) -> RelyingParty:
    """Return the RP id and allowed origins: from settings, or (development) from the request's host."""
    rp_id, origins = app_settings.RP_ID, app_settings.ORIGINS
    if app_settings.TRUST_REQUEST_HOST:
        host = request.get_host()  # validated against ALLOWED_HOSTS
        rp_id = rp_id or _hostname(host)
        origins = origins or [f"{request.scheme}://{host}"]
    if not rp_id or not origins:
        raise ImproperlyConfigured("Set MFA_WEBAUTHN_RP_ID and MFA_WEBAUTHN_ORIGINS (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS).")
    return RelyingParty(id=rp_id, name=app_settings.RP_NAME, origins=origins)


def _hostname(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1:host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# -- challenges ------------------------------------------------------------------

def _issue(request: HttpRequest, purpose: str, challenge: bytes, **extra) -> None:
    challenges = request.session.get(SESSION_KEY, {})
    challenges[purpose] = {
        "challenge": bytes_to_base64url(challenge), "expires_at": clock.timestamp() + app_settings.CHALLENGE_TIMEOUT, **extra,
    }
    request.session[SESSION_KEY] = challenges


def _take(request: HttpRequest, purpose: str) -> dict:
    """Remove and return this session's challenge for ``purpose``; refuse an expired or spent one."""
    challenges = request.session.get(SESSION_KEY, {})
    issued = challenges.pop(purpose, None)
    request.session[SESSION_KEY] = challenges
    if issued is None:
        raise CeremonyError("challenge_missing", "no challenge for this purpose in this session")
    if issued["expires_at"] <= clock.timestamp():
        raise CeremonyError("challenge_expired")
    _spend(issued["challenge"])
    return issued


def _spend(challenge: str) -> None:
    """Record a challenge as used, once: the unique digest refuses the second of two racing answers."""
    now = clock.now()
    digest = hashlib.sha256(challenge.encode()).hexdigest()
    SpentChallenge.objects.filter(expires_at__lte=now).delete()  # lapsed ones can never be replayed anyway
    try:
        with transaction.atomic():
            SpentChallenge.objects.create(
                digest=digest, expires_at=now + timedelta(seconds=app_settings.CHALLENGE_TIMEOUT))
    except IntegrityError:
        raise CeremonyError("challenge_spent", "the challenge was answered already") from None


# -- registration ----------------------------------------------------------------

def registration_options(request: HttpRequest, *, user_handle: bytes, user_name: str, display_name: str,
                         exclude: list[tuple[str, list[str]]]) -> dict:
    """Return the options (JSON-ready) for navigator.credentials.create(), remembering the challenge.

    A discoverable credential and user verification are "preferred": a
    passkey that can later sign in without a password if the authenticator
    can hold one, a plain security key otherwise. No attestation is asked.
    """
    rp = relying_party(request)
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=user_handle, user_name=user_name, user_display_name=display_name,
        timeout=app_settings.CHALLENGE_TIMEOUT * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(credential_id, transports) for credential_id, transports in exclude],
    )
    _issue(request, "register", options.challenge, user_handle=bytes_to_base64url(user_handle))
    as_dict = json.loads(options_to_json(options))
    # credProps tells whether the key kept a discoverable credential (a passkey).
    as_dict["extensions"] = {"credProps": True}
    return as_dict


@dataclass(frozen=True)
class RegisteredKey:
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    backup_eligible: bool
    backed_up: bool
    aaguid: str
    user_handle: str
    discoverable: bool
    user_verified: bool


def verify_registration(request: HttpRequest, answer: str) -> RegisteredKey:
    """Check the browser's answer to registration_options; raise CeremonyError when it is refused."""
    payload = _load(answer)
    credential = _parse(parse_registration_credential_json, payload)
    _check_sizes(client_data=credential.response.client_data_json, authenticator_data=None)
    issued = _take(request, "register")
    rp = relying_party(request)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(issued["challenge"]), expected_rp_id=rp.id,
            expected_origin=rp.origins, require_user_verification=False,
        )
    except BAD_INPUT_ERRORS as refused:
        raise _refusal(refused) from None
    _check_usable(verified.credential_id, verified.credential_public_key)
    flags = _backup_flags(credential)
    return RegisteredKey(
        credential_id=bytes_to_base64url(verified.credential_id), public_key=verified.credential_public_key,
        sign_count=verified.sign_count, transports=_transports(credential),
        backup_eligible=flags[0], backed_up=verified.credential_backed_up,
        aaguid="" if verified.aaguid == "00000000-0000-0000-0000-000000000000" else verified.aaguid,
        user_handle=issued["user_handle"], discoverable=_said_discoverable(payload),
        user_verified=verified.user_verified,
    )


def _check_usable(credential_id: bytes, public_key: bytes) -> None:
    """Refuse a key that could never sign in: an id too long to store, a public key that does not load.

    py_webauthn checks the key's algorithm but not that its numbers make a
    key; one that does not would fail every later sign-in.
    """
    if len(credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise CeremonyError("malformed", f"credential id of {len(credential_id)} bytes")
    try:
        decoded_public_key_to_cryptography(decode_credential_public_key(public_key))
    except BAD_INPUT_ERRORS as unusable:
        raise CeremonyError("malformed", f"unusable public key: {unusable!r}") from None


def _said_discoverable(payload: dict) -> bool:
    """Whether credProps says the key kept a discoverable credential; the browser's JSON may have any shape."""
    results = payload.get("clientExtensionResults")
    cred_props = results.get("credProps") if isinstance(results, dict) else None
    return isinstance(cred_props, dict) and cred_props.get("rk") is True


def _transports(credential: RegistrationCredential) -> list[str]:
    return [transport.value for transport in (credential.response.transports or [])]


def _backup_flags(credential: RegistrationCredential) -> tuple[bool, bool]:
    auth_data = parse_attestation_object(credential.response.attestation_object).auth_data
    return auth_data.flags.be, auth_data.flags.bs


# -- authentication --------------------------------------------------------------

def authentication_options(request: HttpRequest, *, purpose: str, user_id: int | None,
                           allow: list[tuple[str, list[str]]]) -> dict:
    """Return the options (JSON-ready) for navigator.credentials.get(), remembering the challenge.

    ``allow`` limits the browser to the user's own keys (second factor,
    step-up); empty, any discoverable passkey of this site may answer
    (sign-in without a password, and the browser's autofill).
    """
    rp = relying_party(request)
    options = generate_authentication_options(
        rp_id=rp.id, timeout=app_settings.CHALLENGE_TIMEOUT * 1000,
        allow_credentials=[_descriptor(credential_id, transports) for credential_id, transports in allow],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _issue(request, purpose, options.challenge, user_id=user_id)
    return json.loads(options_to_json(options))


@dataclass(frozen=True)
class Assertion:
    """A parsed answer to authentication_options, before its signature is checked."""

    credential: AuthenticationCredential
    credential_id: str
    user_handle: bytes | None
    issued: dict


def read_assertion(request: HttpRequest, answer: str, *, purpose: str) -> Assertion:
    """Parse and size-check an answer and spend this session's challenge for ``purpose``."""
    credential = _parse(parse_authentication_credential_json, _load(answer))
    _check_sizes(client_data=credential.response.client_data_json,
                 authenticator_data=credential.response.authenticator_data)
    issued = _take(request, purpose)
    return Assertion(credential=credential, credential_id=bytes_to_base64url(credential.raw_id),
                     user_handle=credential.response.user_handle, issued=issued)


@dataclass(frozen=True)
class CheckedAssertion:
    sign_count: int
    user_verified: bool
    backed_up: bool


def check_assertion(request: HttpRequest, assertion: Assertion, *, public_key: bytes) -> CheckedAssertion:
    """Check origin, RP id, challenge, presence and the signature against ``public_key``.

    The counter is not compared here (py_webauthn is given 0): flows.py
    compares it only once the signature is proven, so only the key's real
    holder can trip the "possibly cloned" alarm.
    """
    rp = relying_party(request)
    try:
        verified = verify_authentication_response(
            credential=assertion.credential, expected_challenge=base64url_to_bytes(assertion.issued["challenge"]),
            expected_rp_id=rp.id, expected_origin=rp.origins, credential_public_key=public_key,
            credential_current_sign_count=0, require_user_verification=False,
        )
    except BAD_INPUT_ERRORS as refused:  # a stored key that does not load, too (added before _check_usable)
        raise _refusal(refused) from None
    return CheckedAssertion(sign_count=verified.new_sign_count, user_verified=verified.user_verified,
                            backed_up=verified.credential_backed_up)


# -- input -----------------------------------------------------------------------

def _load(answer: str) -> dict:
    if len(answer.encode()) > app_settings.MAX_ANSWER_BYTES:
        raise CeremonyError("too_large", f"{len(answer)} characters")
    try:
        payload = json.loads(answer)
    except (ValueError, RecursionError):
        raise CeremonyError("malformed", "not JSON") from None
    if not isinstance(payload, dict):
        raise CeremonyError("malformed", "not a JSON object")
    return payload


def _parse(parser, payload: dict):
    try:
        return parser(payload)
    except BAD_INPUT_ERRORS as bad:  # binascii.Error (bad base64) is a ValueError
        raise CeremonyError("malformed", str(bad)) from None


def _check_sizes(*, client_data: bytes, authenticator_data: bytes | None) -> None:
    if len(client_data) > app_settings.MAX_CLIENT_DATA_BYTES:
        raise CeremonyError("too_large", f"clientDataJSON of {len(client_data)} bytes")
    if authenticator_data is not None:
        if len(authenticator_data) > app_settings.MAX_AUTHENTICATOR_DATA_BYTES:
            raise CeremonyError("too_large", f"authenticator data of {len(authenticator_data)} bytes")
        if len(authenticator_data) < MIN_AUTHENTICATOR_DATA_BYTES:
            raise CeremonyError("malformed", f"authenticator data of {len(authenticator_data)} bytes (truncated)")


def _refusal(refused: Exception) -> CeremonyError:
    """Name py_webauthn's refusal; anything else it raised means input it could not parse."""
    if isinstance(refused, WebAuthnException):
        return CeremonyError(_refusal_code(str(refused)), str(refused))
    return CeremonyError("malformed", repr(refused))


def _refusal_code(reason: str) -> str:
    """Map py_webauthn's refusal to a stable code (its messages are for the audit log)."""
    lowered = reason.lower()
    for needle, code in (("origin", "wrong_origin"), ("rp id", "wrong_rp_id"), ("challenge", "wrong_challenge"),
                         ("signature", "bad_signature"), ("not present", "user_not_present")):
        if needle in lowered:
            return code
    return "malformed"


def _descriptor(credential_id: str, transports: list[str]) -> PublicKeyCredentialDescriptor:
    known = {transport.value: transport for transport in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential_id),
                                         transports=[known[t] for t in transports if t in known] or None)

