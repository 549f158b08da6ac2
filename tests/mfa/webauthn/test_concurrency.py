"""Races on PostgreSQL: two requests at the same instant, as two app servers would serve them."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from accounts import audit
from agencies import flows as agency_flows
from mfa.webauthn import flows
from mfa.webauthn.models import SpentChallenge, WebAuthnCredential
from tests.concurrency import run_concurrently
from tests.conftest import FAKE_CODE, add_fake_device, reauthenticate, sign_in
from tests.mfa.webauthn.conftest import (
    ADD,
    PROFILE,
    VERIFY,
    add_key,
    client_with_key,
    events,
    html,
    key_of,
    sign_in_options,
    sign_out,
    start_sign_in,
    step_2_options,
)
from tests.webauthn_authenticator import SoftwareAuthenticator, options_on

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def failures(results) -> list:
    return [result for result in results if isinstance(result, Exception)]


def signed_in_browser(user, code: str | None = None) -> Client:
    """``user`` signed in (with ``code`` when they have the test method), step-up window open."""
    client = Client()
    assert sign_in(client, user, code=code).status_code == 302
    assert reauthenticate(client, user).status_code == 302
    return client


def session_copies(client, count: int = 2) -> list[str]:
    """Keys of sessions holding the same data as ``client``'s: one challenge, in several sessions."""
    keys = []
    for _ in range(count):
        copy = SessionStore()
        copy.update(dict(client.session.items()))
        copy.create()
        keys.append(copy.session_key)
    return keys


def flow_request(session_key: str):
    """A request as the flows receive it, on a session of its own (loaded in the calling thread)."""
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest")
    request.user = AnonymousUser()
    request.session = SessionStore(session_key=session_key)
    return request


# -- one answer, two posts -------------------------------------------------------------------

@pytest.mark.parametrize("synced", [False, True], ids=["counting-key", "synced-passkey"])
def test_the_same_answer_posted_twice_at_once_signs_in_once(reauthenticated_client, user, synced):
    """A synced passkey's counter stays 0, so only the spent challenge stops the second post."""
    key = SoftwareAuthenticator(backup_eligible=synced, backed_up=synced, keeps_counter=not synced)
    assert add_key(reauthenticated_client, key).status_code == 302
    sign_out(reauthenticated_client)
    browser = Client()
    start_sign_in(browser, user)
    answer = key.get(step_2_options(browser))
    twin = Client()  # the same browser's second request: the same session cookie
    twin.cookies["sessionid"] = browser.cookies["sessionid"].value
    clients = [browser, twin]

    responses = run_concurrently(lambda i: clients[i].post(VERIFY, {"method": "webauthn", "code": answer}))

    assert not failures(responses), responses
    signed_in = [r for r in responses if r.status_code == 302 and r.url == PROFILE]
    assert len(signed_in) == 1, [(r.status_code, r.get("Location")) for r in responses]
    [other] = [r for r in responses if r not in signed_in]
    # The loser was refused ("already used"), or found its session ended by the winner's sign-in.
    assert other.status_code in (200, 400)
    if other.status_code == 200:
        assert "That passkey request was already used." in html(other)
    assert events(audit.SIGN_IN_SUCCEEDED).filter(actor=user, method="webauthn").count() == 1
    assert key_of(user).sign_count == (0 if synced else 1)


@pytest.mark.parametrize("purpose", ["sign_in", "identify"])
def test_one_challenge_held_by_two_sessions_is_spent_once(reauthenticated_client, user, purpose):
    """Two app servers, each with a copy of the session: the unique digest lets one answer through."""
    key = SoftwareAuthenticator(backup_eligible=True, backed_up=True, keeps_counter=False)
    assert add_key(reauthenticated_client, key).status_code == 302
    sign_out(reauthenticated_client)
    browser = Client()
    if purpose == "sign_in":
        start_sign_in(browser, user)
        answer = key.get(step_2_options(browser))
    else:
        answer = key.get(sign_in_options(browser))
    keys = session_copies(browser)
    spent_before = SpentChallenge.objects.count()

    def check(index: int):
        request = flow_request(keys[index])
        if purpose == "sign_in":
            return flows.verify_assertion(request, user=user, answer=answer, purpose="sign_in")
        return flows.identify(request, answer)

    outcomes = run_concurrently(check)

    assert not failures(outcomes), outcomes
    passed = [o for o in outcomes if not o.error]
    refused = [o for o in outcomes if o.error]
    assert len(passed) == 1 and len(refused) == 1
    assert refused[0].error == "challenge_spent"
    assert refused[0].message == "That passkey request was already used. Try again, or use another method."
    assert SpentChallenge.objects.count() == spent_before + 1


# -- two additions at once -----------------------------------------------------------------

def two_pages(user, count: int = 2) -> tuple[list[Client], list[dict]]:
    """Browsers on the add-a-key page at once, each with a step-up window the first new key leaves open.

    The user has a second factor already: with the password alone, a key
    added by one browser would close the other's window (a step-up with the
    password holds only while there is no second factor), and a browser
    that comes second would be sent to step up instead of racing.
    """
    add_fake_device(user)
    browsers = [signed_in_browser(user, code=FAKE_CODE) for _ in range(count)]
    return browsers, [options_on(b.get("/mfa/webauthn/")) for b in browsers]


def test_two_additions_at_once_cannot_pass_the_limit(user, settings):
    settings.MFA_WEBAUTHN_MAX_KEYS_PER_USER = 1
    browsers, options = two_pages(user)
    answers = [SoftwareAuthenticator().create(o) for o in options]

    responses = run_concurrently(lambda i: browsers[i].post(ADD, {"name": f"Key {i}", "credential": answers[i]}))

    assert not failures(responses), responses
    assert sorted(r.status_code for r in responses) == [302, 400]
    [refused] = [r for r in responses if r.status_code == 400]
    assert "You have 1 passkey or security key, the most one account can have." in html(refused)
    assert WebAuthnCredential.objects.filter(user=user).count() == 1
    assert events(flows.KEY_ADDED).count() == 1


def test_two_keys_of_one_name_added_at_once_are_not_both_kept(user):
    browsers, options = two_pages(user)
    answers = [SoftwareAuthenticator().create(o) for o in options]

    responses = run_concurrently(lambda i: browsers[i].post(ADD, {"name": "YubiKey", "credential": answers[i]}))

    assert not failures(responses), responses
    assert sorted(r.status_code for r in responses) == [302, 400]
    [refused] = [r for r in responses if r.status_code == 400]
    assert "You already have a key with that name." in html(refused)
    assert list(WebAuthnCredential.objects.filter(user=user).values_list("name", flat=True)) == ["YubiKey"]


def test_one_credential_registered_to_two_accounts_at_once_is_kept_once(user, make_user):
    other = make_user("other@example.test")
    browsers = [signed_in_browser(user), signed_in_browser(other)]
    options = [options_on(b.get("/mfa/webauthn/")) for b in browsers]
    shared_id = b"\x42" * 32
    answers = [SoftwareAuthenticator().create(o, credential_id=shared_id) for o in options]

    responses = run_concurrently(lambda i: browsers[i].post(ADD, {"name": "Key", "credential": answers[i]}))

    assert not failures(responses), responses
    assert sorted(r.status_code for r in responses) == [302, 400]
    [refused] = [r for r in responses if r.status_code == 400]
    assert "This passkey or security key is registered already. Nothing was changed." in html(refused)
    assert WebAuthnCredential.objects.count() == 1
    assert events(flows.KEY_ADDED).count() == 1


# -- two removals at once ------------------------------------------------------------------

def test_two_removals_at_once_under_the_policy_leave_one_key(acme):
    add_fake_device(acme.owner)
    first = client_with_key(acme.alice, SoftwareAuthenticator(), name="Laptop")
    assert add_key(first, SoftwareAuthenticator(), name="Phone").status_code == 302
    agency_flows.set_two_factor_policy(None, actor=acme.owner, agency=acme.agency, required=True, grace_days=0)
    second = Client()
    second.cookies["sessionid"] = first.cookies["sessionid"].value
    keys = list(WebAuthnCredential.objects.filter(user=acme.alice).order_by("pk"))
    clients = [first, second]

    responses = run_concurrently(lambda i: clients[i].post(f"/mfa/webauthn/{keys[i].pk}/remove/"))

    assert not failures(responses), responses
    assert WebAuthnCredential.objects.filter(user=acme.alice).count() == 1
    assert events(flows.KEY_REMOVED).count() == 1
    [refused] = [r for r in responses if r.status_code == 200]
    assert "Your agency requires two-factor authentication" in html(refused)
