"""Answers a passkey ceremony must refuse: phishing, replays, other sessions, expired and bad input.

Each case runs at every ceremony that can meet it: sign-in step 2, sign-in
with the passkey alone, step-up ("Confirm it's you") and adding a key. Each
refusal must say something clear to the person, change nothing (no sign-in,
no window opened, counters and rows as they were) and never be a 500.
"""
import base64
import json
import secrets

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from accounts import audit
from accounts.models import AuditEvent
from mfa.webauthn import errors, flows
from mfa.webauthn.app_settings import app_settings
from mfa.webauthn.models import SpentChallenge, WebAuthnCredential
from tests.conftest import FAKE_CODE, add_fake_device, let_step_up_window_pass
from tests.mfa.webauthn.conftest import (
    ADD,
    MANAGE,
    VERIFY,
    answer_step_2,
    events,
    html,
    sign_in_options,
    sign_in_with_passkey,
    sign_out,
    signed_in_user,
    start_sign_in,
    step_2_options,
    step_up,
    step_up_options,
)
from tests.webauthn_authenticator import SoftwareAuthenticator, options_on

pytestmark = pytest.mark.django_db

UNREADABLE = "Your browser's answer could not be read. Try again, or use another method."
TOO_LARGE = "Your browser's answer was too large to be a passkey's. Try again, or use another method."
NOT_THIS_SITE = "Your passkey's answer was not made for this site. Try again, or use another method."
NOT_THIS_REQUEST = "Your passkey's answer did not match this request. Try again, or use another method."
MISSING = "That passkey request has expired or was already used. Try again, or use another method."
EXPIRED = "That passkey request expired after 5 minutes. Try again, or use another method."
SPENT = "That passkey request was already used. Try again, or use another method."
NOT_REGISTERED = "This passkey or security key is not registered to an account here."


# -- the ceremonies, driven through their pages ------------------------------------------

class StepTwo:
    """Sign-in step 2: the password was right, the key is asked."""

    name, purpose, refused_status = "step_2", "sign_in", 200

    def open(self, client, user) -> None:
        sign_out(client)
        start_sign_in(client, user)

    def options(self, client) -> dict:
        return step_2_options(client)

    def answer(self, authenticator, options, **lies) -> str:
        return authenticator.get(options, **lies)

    def post(self, client, answer: str):
        return answer_step_2(client, answer)

    def passed(self, client) -> bool:
        return signed_in_user(client).is_authenticated


class Passwordless(StepTwo):
    """"Sign in with a passkey" on the sign-in page, before any email is typed."""

    name, purpose, refused_status = "passwordless", "identify", 400

    def open(self, client, user) -> None:
        sign_out(client)

    def options(self, client) -> dict:
        return sign_in_options(client)

    def post(self, client, answer: str):
        return sign_in_with_passkey(client, answer)


class StepUp(StepTwo):
    """"Confirm it's you": the password, and the key's answer in the code field."""

    name, purpose, refused_status = "step_up", "reauth", 200

    def open(self, client, user) -> None:
        let_step_up_window_pass()

    def options(self, client) -> dict:
        return step_up_options(client)

    def post(self, client, answer: str):
        return step_up(client, answer)

    def passed(self, client) -> bool:
        return client.get(MANAGE).status_code == 200


class Register(StepTwo):
    """Profile > Passkeys and security keys > Add, with a new authenticator."""

    name, purpose, refused_status = "register", "register", 400

    def open(self, client, user) -> None:
        pass

    def options(self, client) -> dict:
        page = client.get(MANAGE)
        assert page.status_code == 200
        return options_on(page)

    def answer(self, authenticator, options, **lies) -> str:
        return SoftwareAuthenticator().create(options, **lies)

    def post(self, client, answer: str):
        return client.post(ADD, {"name": "Second key", "credential": answer})

    def passed(self, client) -> bool:
        return WebAuthnCredential.objects.count() > 1


ALL = [StepTwo(), Passwordless(), StepUp(), Register()]
SIGNING = [StepTwo(), Passwordless(), StepUp()]


def ceremonies(items):
    return pytest.mark.parametrize("ceremony", items, ids=lambda item: item.name)


def state() -> tuple:
    """What a refused answer must leave as it was."""
    keys = list(WebAuthnCredential.objects.order_by("pk").values_list("pk", "sign_count", "last_used_at", "backed_up"))
    successes = AuditEvent.objects.filter(event_type__in=[
        audit.SIGN_IN_SUCCEEDED, audit.REAUTH_SUCCEEDED, flows.KEY_ADDED]).count()
    return keys, successes


def assert_refused(ceremony, client, response, message: str, before: tuple) -> None:
    assert response.status_code == ceremony.refused_status, response
    assert message in html(response)
    assert not ceremony.passed(client)
    assert state() == before


@pytest.fixture
def browser(client, user_with_key):
    """The key owner's browser (signed in, a key added: the step-up window is open)."""
    return client


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def edited(answer: str, **response_fields) -> str:
    """The answer with fields of its ``response`` replaced."""
    payload = json.loads(answer)
    payload["response"].update(response_fields)
    return json.dumps(payload)


# -- phishing: another origin, another RP id, another challenge ---------------------------

@ceremonies(ALL)
@pytest.mark.parametrize(("lie", "message", "code"), [
    ({"origin": "https://testserver.evil.example"}, NOT_THIS_SITE, "wrong_origin"),
    ({"origin": "https://testserver"}, NOT_THIS_SITE, "wrong_origin"),  # the right host, the wrong scheme
    ({"rp_id": "evil.example"}, NOT_THIS_SITE, "wrong_rp_id"),
    ({"challenge": b64(secrets.token_bytes(32))}, NOT_THIS_REQUEST, "wrong_challenge"),
], ids=["look-alike-origin", "other-scheme", "other-rp-id", "other-challenge"])
def test_an_answer_made_for_another_site_or_request_is_refused(ceremony, browser, user_with_key, authenticator,
                                                              lie, message, code):
    ceremony.open(browser, user_with_key)
    options = ceremony.options(browser)
    before = state()

    response = ceremony.post(browser, ceremony.answer(authenticator, options, **lie))

    assert_refused(ceremony, browser, response, message, before)
    failure = events(flows.VERIFICATION_FAILED).get()
    assert (failure.data["purpose"], failure.data["error"]) == (ceremony.purpose, code)


# -- replays ------------------------------------------------------------------------------

@ceremonies(ALL)
def test_the_same_answer_posted_again_later_is_refused(ceremony, browser, user_with_key, authenticator):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    assert ceremony.post(browser, answer).status_code == 302
    if ceremony.name == "register":
        assert WebAuthnCredential.objects.count() == 2
        WebAuthnCredential.objects.filter(name="Second key").delete()  # so "passed" means a new row again
    ceremony.open(browser, user_with_key)
    ceremony.options(browser)  # the page is open again, with a fresh challenge
    before = state()

    response = ceremony.post(browser, answer)

    assert_refused(ceremony, browser, response, NOT_THIS_REQUEST, before)


@ceremonies([StepUp(), Register()])
def test_an_answer_posted_twice_in_a_row_is_refused_the_second_time(ceremony, browser, user_with_key, authenticator):
    """The second post finds no challenge left (the first took it), as a double click would."""
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    assert ceremony.post(browser, answer).status_code == 302
    if ceremony.name == "register":
        WebAuthnCredential.objects.filter(name="Second key").delete()
    if ceremony.name == "step_up":
        let_step_up_window_pass()
    before = state()

    response = ceremony.post(browser, answer)

    assert_refused(ceremony, browser, response, MISSING, before)


def test_signed_in_double_post_of_step_2_goes_to_the_profile_without_a_second_check(
        browser, user_with_key, authenticator):
    StepTwo().open(browser, user_with_key)
    answer = authenticator.get(step_2_options(browser))
    assert answer_step_2(browser, answer).status_code == 302
    before = state()

    response = answer_step_2(browser, answer)

    assert response.status_code == 302 and response.url == "/account/profile/"
    assert state() == before


@ceremonies([StepTwo(), StepUp()])
def test_a_copy_of_the_session_cannot_use_the_challenge_a_second_time(ceremony, browser, user_with_key,
                                                                      authenticator):
    """Two sessions holding one challenge (a copied cookie store, a restored backup): the database spends it once."""
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    copy = SessionStore()
    copy.update(dict(browser.session.items()))
    copy.create()
    twin = Client()
    twin.cookies["sessionid"] = copy.session_key
    if ceremony.name == "step_up":  # the twin is signed in as the same user, and asked to confirm
        assert twin.get(MANAGE).url.startswith("/account/reauthenticate/")
    assert ceremony.post(browser, answer).status_code == 302
    before = state()

    response = ceremony.post(twin, answer)

    assert_refused(ceremony, twin, response, SPENT, before)
    assert events(flows.VERIFICATION_FAILED).get().data["error"] == "challenge_spent"


# -- a challenge of another purpose or another session ------------------------------------

def test_a_passwordless_challenge_answered_at_step_2_is_refused(browser, user_with_key, authenticator):
    sign_out(browser)
    identify_options = sign_in_options(browser)  # kept in this session...
    start_sign_in(browser, user_with_key)
    step_2_options(browser)  # ...beside step 2's own
    before = state()

    response = answer_step_2(browser, authenticator.get(identify_options))

    assert_refused(StepTwo(), browser, response, NOT_THIS_REQUEST, before)


def test_a_step_2_challenge_answered_at_step_up_is_refused(client, user_with_key, authenticator):
    add_fake_device(user_with_key)
    sign_out(client)
    start_sign_in(client, user_with_key)
    sign_in_challenge = step_2_options(client)
    # Step 2 is finished with the other method: the passkey's challenge stays in the session.
    assert client.post(VERIFY, {"method": "fake", "code": FAKE_CODE}).status_code == 302
    let_step_up_window_pass()
    step_up_options(client)
    before = state()

    response = step_up(client, authenticator.get(sign_in_challenge))

    assert_refused(StepUp(), client, response, NOT_THIS_REQUEST, before)


def test_a_passwordless_challenge_answered_at_step_up_is_refused(client, user_with_key, authenticator):
    sign_out(client)
    identify_options = sign_in_options(client)
    start_sign_in(client, user_with_key)
    assert answer_step_2(client, authenticator.get(step_2_options(client))).status_code == 302
    let_step_up_window_pass()
    step_up_options(client)
    before = state()

    response = step_up(client, authenticator.get(identify_options))

    assert_refused(StepUp(), client, response, NOT_THIS_REQUEST, before)


@ceremonies([StepTwo(), Passwordless()])
def test_an_answer_to_another_sessions_challenge_is_refused(ceremony, browser, user_with_key, authenticator):
    """The attacker's page got the victim's key to sign the attacker's challenge, or the other way round."""
    ceremony.open(browser, user_with_key)
    ceremony.options(browser)
    elsewhere = Client()
    ceremony.open(elsewhere, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(elsewhere))
    before = state()

    response = ceremony.post(browser, answer)

    assert_refused(ceremony, browser, response, NOT_THIS_REQUEST, before)


def test_a_passwordless_answer_in_a_session_that_asked_for_nothing_is_refused(browser, user_with_key, authenticator):
    sign_out(browser)
    answer = authenticator.get(sign_in_options(Client()))
    before = state()

    response = sign_in_with_passkey(browser, answer)

    assert_refused(Passwordless(), browser, response, MISSING, before)


@ceremonies(ALL)
def test_an_expired_challenge_is_refused(ceremony, browser, user_with_key, authenticator, clock):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    clock.advance(app_settings.CHALLENGE_TIMEOUT + 1)
    before = state()

    response = ceremony.post(browser, answer)

    assert_refused(ceremony, browser, response, EXPIRED, before)


@ceremonies(SIGNING)
def test_a_challenge_answered_just_in_time_is_accepted(ceremony, browser, user_with_key, authenticator, clock):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    clock.advance(app_settings.CHALLENGE_TIMEOUT - 1)

    assert ceremony.post(browser, answer).status_code == 302
    assert ceremony.passed(browser)


# -- unknown keys -------------------------------------------------------------------------

@ceremonies(SIGNING)
def test_a_key_registered_nowhere_is_refused(ceremony, browser, user_with_key):
    stranger = SoftwareAuthenticator()
    stranger.create({"rp": {"id": "testserver"}, "user": {"id": b64(b"someone")}, "challenge": b64(b"x")})
    ceremony.open(browser, user_with_key)
    before = state()

    response = ceremony.post(browser, stranger.get(ceremony.options(browser)))

    assert_refused(ceremony, browser, response, NOT_REGISTERED, before)
    assert events(flows.VERIFICATION_FAILED).get().data["error"] == "unknown_credential"


# -- bad input ----------------------------------------------------------------------------

NOT_JSON = ["{not json", "[", "{'single': 'quotes'}", "[" * 5000 + "]" * 5000]  # the last nests too deep to read
NOT_AN_OBJECT = ["[]", "null", '"a string"', "42", "true", "[{}]"]


@ceremonies(ALL)
@pytest.mark.parametrize("answer", NOT_JSON + NOT_AN_OBJECT, ids=lambda answer: answer[:16])
def test_an_answer_that_is_not_a_json_object_is_refused(ceremony, browser, user_with_key, answer):
    ceremony.open(browser, user_with_key)
    ceremony.options(browser)
    before = state()

    response = ceremony.post(browser, answer)

    assert_refused(ceremony, browser, response, UNREADABLE, before)


@ceremonies(ALL)
def test_a_truncated_client_data_json_is_refused(ceremony, browser, user_with_key, authenticator):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    client_data = unb64(json.loads(answer)["response"]["clientDataJSON"])
    before = state()

    response = ceremony.post(browser, edited(answer, clientDataJSON=b64(client_data[:len(client_data) // 2])))

    assert_refused(ceremony, browser, response, UNREADABLE, before)


@ceremonies(ALL)
def test_an_oversized_client_data_json_is_refused(ceremony, browser, user_with_key, authenticator):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    client_data = json.loads(unb64(json.loads(answer)["response"]["clientDataJSON"]))
    padded = json.dumps({**client_data, "padding": "x" * app_settings.MAX_CLIENT_DATA_BYTES}).encode()
    before = state()

    response = ceremony.post(browser, edited(answer, clientDataJSON=b64(padded)))

    assert_refused(ceremony, browser, response, TOO_LARGE, before)


@ceremonies(SIGNING)
@pytest.mark.parametrize(("size", "message"), [(0, UNREADABLE), (36, UNREADABLE), (4097, TOO_LARGE)])
def test_authenticator_data_cut_short_or_oversized_is_refused(ceremony, browser, user_with_key, authenticator,
                                                              size, message):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    real = unb64(json.loads(answer)["response"]["authenticatorData"])
    before = state()

    response = ceremony.post(browser, edited(answer, authenticatorData=b64((real * 200)[:size])))

    assert_refused(ceremony, browser, response, message, before)


@ceremonies([Register()])
def test_a_truncated_attestation_object_is_refused(ceremony, browser, user_with_key, authenticator):
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    attestation = unb64(json.loads(answer)["response"]["attestationObject"])
    before = state()

    response = ceremony.post(browser, edited(answer, attestationObject=b64(attestation[:len(attestation) - 10])))

    assert_refused(ceremony, browser, response, UNREADABLE, before)


@ceremonies(SIGNING)
def test_a_signature_by_another_private_key_is_refused(ceremony, browser, user_with_key, authenticator):
    from cryptography.hazmat.primitives.asymmetric import ec

    authenticator.credentials[0].private_key = ec.generate_private_key(ec.SECP256R1())  # same id, other key
    ceremony.open(browser, user_with_key)
    before = state()

    response = ceremony.post(browser, authenticator.get(ceremony.options(browser)))

    assert_refused(ceremony, browser, response, "Your passkey's answer did not check out.", before)


@ceremonies(SIGNING)
def test_an_answer_without_the_users_presence_is_refused(ceremony, browser, user_with_key, authenticator):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    auth_data = bytearray(unb64(json.loads(answer)["response"]["authenticatorData"]))
    auth_data[32] &= ~0x01  # UP cleared (the signature no longer matches, but presence is checked first)
    before = state()

    response = ceremony.post(browser, edited(answer, authenticatorData=b64(bytes(auth_data))))

    assert_refused(ceremony, browser, response, "Your passkey did not confirm you were there", before)


@ceremonies([Passwordless(), Register()])
def test_an_answer_over_the_size_limit_is_refused_as_too_large(ceremony, browser, user_with_key, authenticator):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    payload = json.loads(answer)
    payload["clientExtensionResults"] = {"padding": "x" * app_settings.MAX_ANSWER_BYTES}
    before = state()

    response = ceremony.post(browser, json.dumps(payload))

    assert_refused(ceremony, browser, response, TOO_LARGE, before)


@ceremonies([StepTwo(), StepUp()])
def test_an_answer_over_the_size_limit_is_refused_by_the_answer_field(ceremony, browser, user_with_key,
                                                                      authenticator):
    ceremony.open(browser, user_with_key)
    answer = ceremony.answer(authenticator, ceremony.options(browser))
    payload = json.loads(answer)
    payload["clientExtensionResults"] = {"padding": "x" * app_settings.MAX_ANSWER_BYTES}
    before = state()

    response = ceremony.post(browser, json.dumps(payload))

    # The answer field (accounts.forms.CodeForm.fit_to) refuses it before the method sees it, in the method's words.
    assert_refused(ceremony, browser, response, TOO_LARGE, before)


# -- no 500s: every part of a real answer broken in turn ----------------------------------

def mutations(kind: str) -> list[tuple[str, object]]:
    """(a path into the answer, the value put there; ... deletes it)."""
    response_fields = (["clientDataJSON", "authenticatorData", "signature", "userHandle"] if kind == "get"
                       else ["clientDataJSON", "attestationObject", "transports"])
    values = [..., None, 5, [], {}, "", "!!!not base64!!!", "A", "x" * 3000]
    cases = [(path, value) for path in ["id", "rawId", "type", "response", "authenticatorAttachment",
                                        "clientExtensionResults"] for value in values]
    cases += [(f"response.{field}", value) for field in response_fields for value in values]
    cases += [("id", b64(b"not the raw id")), ("clientExtensionResults", {"credProps": 5}),
              ("clientExtensionResults", {"credProps": {"rk": "yes"}}), ("clientExtensionResults", [1])]
    if kind == "create":
        cases.append(("response.transports", ["usb", 5, None, {"a": 1}]))
    return cases


def short_id(value) -> str:
    return repr(value)[:24]


def mutate(answer: str, path: str, value) -> str:
    payload = json.loads(answer)
    target = payload
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[part]
    if value is ...:
        target.pop(parts[-1], None)
    else:
        target[parts[-1]] = value
    return json.dumps(payload)


NEEDLESS = {"authenticatorAttachment", "clientExtensionResults", "response.userHandle", "response.transports"}
REFUSALS = [errors.message_for(code) for code in (
    "malformed", "too_large", "wrong_origin", "wrong_challenge", "bad_signature", "user_not_present",
    "unknown_credential", "already_registered")]


@pytest.fixture
def unlimited(settings):
    """Every broken answer is read: none is turned away by a pause instead."""
    settings.MFA_WEBAUTHN_FAILURES_PER_USER = (10_000, 900)
    settings.ACCOUNTS_LOGIN_FAILURES_PER_IP = (10_000, 900)
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (10_000, 900)


@ceremonies(ALL)
def test_no_broken_answer_is_a_server_error(ceremony, browser, user_with_key, authenticator, unlimited):
    """Each part of a real answer removed, or of the wrong type, or junk: a clear refusal or (unused parts) a pass."""
    window_open = True  # step-up: only a pass opens the window, and only then must the clock move on
    for path, value in mutations("create" if ceremony.name == "register" else "get"):
        case = f"{ceremony.name}: {path} = {short_id(value)}"
        if ceremony.name != "step_up" or window_open:
            ceremony.open(browser, user_with_key)
            window_open = False
        answer = mutate(ceremony.answer(authenticator, ceremony.options(browser)), path, value)
        before = state()[0]

        response = ceremony.post(browser, answer)

        if response.status_code == 302:  # a part the check does not need
            assert path in NEEDLESS, case
            WebAuthnCredential.objects.filter(name="Second key").delete()
            window_open = True
            continue
        assert response.status_code == ceremony.refused_status, case
        assert any(message in html(response) for message in REFUSALS), case
        assert not ceremony.passed(browser), case
        assert state()[0] == before, case


def test_a_refusal_spends_no_challenge_row_before_the_answer_was_read(browser, user_with_key):
    StepTwo().open(browser, user_with_key)
    step_2_options(browser)
    spent = SpentChallenge.objects.count()

    answer_step_2(browser, "{not json")

    assert SpentChallenge.objects.count() == spent
    assert events(audit.SIGN_IN_SECOND_FACTOR_FAILED).get().data["error"] == "malformed"


# -- registrations whose key could never be used ------------------------------------------

@pytest.mark.parametrize("cose_key", [
    {3: -7, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32},  # no key type
    {1: 2, 3: -7, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32},  # a point that is not on the curve
    {1: 2, 3: -7, -1: 1, -2: b"\x01" * 5, -3: b"\x02" * 5},  # coordinates cut short
    {1: 2, 3: -7, -1: 1},  # no coordinates at all
    {1: 2, 3: -7, -1: 99, -2: b"\x01" * 32, -3: b"\x02" * 32},  # an unknown curve
    {1: 3, 3: -257, -1: b"\x00", -2: b"\x03"},  # an RSA key with no modulus
], ids=["no-kty", "off-curve", "short", "no-xy", "curve-99", "rsa-junk"])
def test_a_key_whose_public_key_cannot_be_used_is_refused_at_registration(
        browser, user_with_key, monkeypatch, cose_key):
    from tests import webauthn_authenticator

    monkeypatch.setattr(webauthn_authenticator, "_cose_key", lambda private_key: cose_key)
    before = state()

    response = Register().post(browser, Register().answer(None, Register().options(browser)))

    assert_refused(Register(), browser, response, UNREADABLE, before)


def test_a_credential_id_longer_than_the_specification_allows_is_refused(browser, user_with_key):
    """At most 1023 bytes (WebAuthn §5.1): a longer one would not fit the column on PostgreSQL."""
    before = state()

    response = Register().post(browser, Register().answer(None, Register().options(browser),
                                                          credential_id=secrets.token_bytes(1024)))

    assert_refused(Register(), browser, response, UNREADABLE, before)


def test_a_credential_id_of_the_longest_allowed_size_is_kept(browser, user_with_key):
    credential_id = secrets.token_bytes(1023)

    response = Register().post(browser, Register().answer(None, Register().options(browser),
                                                          credential_id=credential_id))

    assert response.status_code == 302
    assert WebAuthnCredential.objects.get(name="Second key").credential_id == b64(credential_id)


def test_the_expiry_message_follows_the_challenge_timeout(browser, user_with_key, authenticator, clock, settings):
    settings.MFA_WEBAUTHN_CHALLENGE_TIMEOUT = 120
    StepTwo().open(browser, user_with_key)
    answer = authenticator.get(step_2_options(browser))
    clock.advance(121)
    before = state()

    response = answer_step_2(browser, answer)

    assert_refused(StepTwo(), browser, response, "That passkey request expired after 2 minutes.", before)


@ceremonies(SIGNING)
def test_a_stored_key_that_does_not_load_is_refused_not_a_server_error(ceremony, browser, user_with_key,
                                                                       authenticator):
    """A row kept from before registration checked the key (the only way such a key can exist)."""
    import cbor2

    WebAuthnCredential.objects.filter(user=user_with_key).update(
        public_key=cbor2.dumps({1: 2, 3: -7, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32}))  # off the curve
    ceremony.open(browser, user_with_key)
    before = state()

    response = ceremony.post(browser, authenticator.get(ceremony.options(browser)))

    assert_refused(ceremony, browser, response, UNREADABLE, before)
