"""A software authenticator for the server-side passkey tests.

It does what a security key or a phone does, in Python: makes an ES256 key
pair per credential, answers registration with "none" attestation and
authentication with a real signature over the authenticator data and the
client data, with the flags UP, UV, BE and BS and a signature counter set as
a test asks. The browser's part (clientDataJSON with the origin and the
challenge) is here too, so a test can lie about the origin, the RP id or
the challenge the way a phishing page or a replaying attacker would.
"""
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

FLAG_UP, FLAG_UV, FLAG_BE, FLAG_BS, FLAG_AT = 0x01, 0x04, 0x08, 0x10, 0x40
YUBIKEY_5_AAGUID = bytes.fromhex("cb69481e8ff7403993ec0a2729a154a8")


@dataclass
class Credential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0


@dataclass
class SoftwareAuthenticator:
    origin: str = "http://testserver"
    rp_id: str = "testserver"
    user_verification: bool = True
    backup_eligible: bool = False
    backed_up: bool = False
    keeps_counter: bool = True  # synced passkeys keep none (always 0)
    aaguid: bytes = bytes(16)
    credentials: list[Credential] = field(default_factory=list)

    # -- registration (navigator.credentials.create) ---------------------------

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
               challenge: str | None = None, credential_id: bytes | None = None) -> str:
        """Answer registration ``options`` as a browser would; return the JSON the page posts."""
        excluded = {item["id"] for item in options.get("excludeCredentials", [])}
        private_key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(
            credential_id=credential_id or secrets.token_bytes(32), private_key=private_key,
            user_handle=base64url_to_bytes(options["user"]["id"]), rp_id=rp_id or options["rp"]["id"],
        )
        if bytes_to_base64url(credential.credential_id) in excluded:
            raise ValueError("InvalidStateError: this authenticator holds an excluded credential")
        self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        attested = (self.aaguid + struct.pack(">H", len(credential.credential_id)) + credential.credential_id
                    + cbor2.dumps(_cose_key(private_key)))
        auth_data = self._authenticator_data(credential.rp_id, FLAG_AT, counter=0) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": bytes_to_base64url(credential.credential_id), "rawId": bytes_to_base64url(credential.credential_id),
            "type": "public-key", "authenticatorAttachment": "cross-platform",
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "attestationObject": bytes_to_base64url(attestation), "transports": ["usb", "nfc"]},
            "clientExtensionResults": {"credProps": {"rk": True}},
        })

    # -- authentication (navigator.credentials.get) ----------------------------

    def get(self, options: dict, *, credential: Credential | None = None, origin: str | None = None,
            rp_id: str | None = None, challenge: str | None = None, user_verified: bool | None = None,
            sign_count: int | None = None, with_user_handle: bool = True) -> str:
        """Sign ``options``' challenge with ``credential`` (the newest, by default); return the page's JSON."""
        credential = credential or self.credentials[-1]
        if sign_count is None:
            if self.keeps_counter:
                credential.sign_count += 1
            sign_count = credential.sign_count
        uv = self.user_verification if user_verified is None else user_verified
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        auth_data = self._authenticator_data(rp_id or credential.rp_id, FLAG_UV if uv else 0, counter=sign_count)
        signature = credential.private_key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                                ec.ECDSA(hashes.SHA256()))
        response = {"clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data), "signature": bytes_to_base64url(signature)}
        if with_user_handle:
            response["userHandle"] = bytes_to_base64url(credential.user_handle)
        return json.dumps({
            "id": bytes_to_base64url(credential.credential_id), "rawId": bytes_to_base64url(credential.credential_id),
            "type": "public-key", "authenticatorAttachment": "cross-platform", "response": response,
            "clientExtensionResults": {},
        })

    # -- parts -------------------------------------------------------------------

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def _authenticator_data(self, rp_id: str, extra_flags: int, *, counter: int) -> bytes:
        flags = FLAG_UP | extra_flags
        if self.user_verification and extra_flags & FLAG_AT:
            flags |= FLAG_UV
        if self.backup_eligible:
            flags |= FLAG_BE
        if self.backed_up:
            flags |= FLAG_BS
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", counter)


def _cose_key(private_key: ec.EllipticCurvePrivateKey) -> dict:
    numbers = private_key.public_key().public_numbers()
    return {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}


def options_on(page) -> dict:
    """Return the WebAuthn options a rendered page carries for its script (json_script)."""
    content = page.content.decode()
    for element_id in ("webauthn-creation-options", "webauthn-request-options", "webauthn-sign-in-options"):
        marker = f'<script id="{element_id}" type="application/json">'
        if marker in content:
            start = content.index(marker) + len(marker)
            return json.loads(content[start:content.index("</script>", start)])
    raise AssertionError("the page carries no WebAuthn options")
