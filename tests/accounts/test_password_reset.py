"""Forgot password: the emailed link, what it refuses, its limits, and that it never skips two-factor."""
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import password_reset
from accounts.models import AuditEvent, Delivery, User
from agencies.flows import reset_member_method
from mfa.registry import get_method
from tests.concurrency import run_concurrently
from tests.conftest import PASSWORD, add_fake_device, sign_in

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
FORGOT = reverse("accounts:password_reset_request")
SENT = reverse("accounts:password_reset_sent")
RESET = reverse("accounts:password_reset")
NEW_PASSWORD = "plover quartz umbrella 93"
LINK_RE = re.compile(r"http://testserver(/account/password/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """Post "Forgot password?" for an address; the outbox sends after the commit, into mail.outbox."""

    def post(email: str, *, ip: str = "198.51.100.7", browser: Client | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return (browser or client).post(FORGOT, {"email": email}, REMOTE_ADDR=ip)

    return post


@pytest.fixture
def link_for(ask):
    """Ask for a reset link for ``user`` and return its path, read from the email."""

    def get(user: User) -> str:
        before = len(mail.outbox)
        assert ask(user.email).status_code == 302
        assert len(mail.outbox) == before + 1
        return LINK_RE.search(mail.outbox[-1].body)[1]

    return get


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Open a reset link in ``browser`` and post a new password there."""

    def run(browser: Client, link: str, new: str = NEW_PASSWORD, *, confirm: str | None = None):
        opened = browser.get(link)
        if opened.status_code != 302:
            return opened
        assert opened.url == RESET
        with django_capture_on_commit_callbacks(execute=True):
            return browser.post(RESET, {"new_password": new,
                                        "new_password_confirm": new if confirm is None else confirm})

    return run


def assert_link_refused(response, user: User) -> None:
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(event_type=password_reset.PASSWORD_RESET).exists()


def test_sign_in_page_links_to_forgot_password(client):
    page = client.get(LOGIN).content.decode()

    assert f'href="{FORGOT}"' in page and "Forgot password?" in page


def test_request_reset_for_known_email_emails_a_link(ask, user):
    response = ask("USER@example.test")

    assert response.status_code == 302 and response.url == SENT
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your CallTrackingMetrics password"
    assert LINK_RE.search(message.body)
    assert "within 60 minutes" in message.body and "198.51.100.7" in message.body
    assert Delivery.objects.filter(kind=password_reset.REQUEST_EMAIL, user=user).count() == 1


def test_request_reset_for_unknown_email_answers_the_same_and_sends_nothing(ask, user, client):
    known, unknown = ask(user.email), ask("nobody@example.test")

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url) == (302, SENT)
    assert sorted(known.cookies) == sorted(unknown.cookies)
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert not Delivery.objects.exclude(user=user).exists()
    page = client.get(SENT).content.decode()
    assert "If an account uses that address, we have emailed it a link" in page
    # Both are on record, so an owner sees attempts against an address.
    assert sorted(AuditEvent.objects.filter(event_type=password_reset.PASSWORD_RESET_REQUESTED)
                  .values_list("attempted_email", flat=True)) == ["nobody@example.test", user.email]


def statement_kind(sql: str) -> str:
    """Return "INSERT accounts_delivery", "SAVEPOINT", ...: what a statement does, without its values."""
    verb = re.match(r"(RELEASE SAVEPOINT|SAVEPOINT|SELECT|INSERT|UPDATE|DELETE)", sql)[1]
    table = re.search(r'"([a-z]+_[a-z_]+)"', sql)
    return f"{verb} {table[1]}" if table and "SAVEPOINT" not in verb else verb


def test_request_reset_for_unknown_email_does_the_same_work_but_the_outbox_row(client, user, settings):
    """The same queries and templates either way (the timing follows); only the known address queues mail."""
    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"

    def work(email: str, ip: str) -> tuple[list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(FORGOT, {"email": email}, REMOTE_ADDR=ip)
        return [statement_kind(q["sql"]) for q in queries], [t.name for t in response.templates]

    known_sql, known_templates = work(user.email, "198.51.100.1")
    unknown_sql, unknown_templates = work("nobody@example.test", "198.51.100.2")

    assert known_templates == unknown_templates
    assert "accounts/email/password_reset_message.txt" in known_templates
    extra = list(known_sql)
    for statement in unknown_sql:
        extra.remove(statement)
    assert extra == ["INSERT accounts_delivery"], extra


def test_request_reset_for_inactive_user_sends_nothing(ask, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert ask(user.email).url == SENT
    assert mail.outbox == []


def test_reset_sets_the_new_password_and_signs_nobody_in(link_for, submit, user):
    browser = Client()

    response = submit(browser, link_for(user))

    assert response.status_code == 302 and response.url == LOGIN
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert "_auth_user_id" not in browser.session
    page = browser.get(LOGIN).content.decode()
    assert "Your password was reset. Sign in with your new password." in page


def test_reset_then_sign_in_still_asks_for_the_second_factor(link_for, submit, user_with_mfa):
    browser = Client()
    submit(browser, link_for(user_with_mfa))

    response = browser.post(LOGIN, {"email": user_with_mfa.email, "password": NEW_PASSWORD})

    assert response.status_code == 302 and response.url == reverse("accounts:login_verify")
    assert browser.get(reverse("accounts:profile")).url == reverse("accounts:login_verify")
    assert "_auth_user_id" not in browser.session
    assert sign_in(browser, user_with_mfa, password=NEW_PASSWORD).url == reverse("accounts:profile")


def test_reset_link_keeps_its_token_out_of_the_address_bar(link_for, user):
    browser = Client()
    link = link_for(user)

    opened = browser.get(link)

    assert opened.status_code == 302 and opened.url == RESET
    form = browser.get(RESET)
    assert form.status_code == 200 and link.split("/")[-2] not in form.content.decode()


def test_reset_link_works_once(link_for, submit, user):
    link = link_for(user)
    assert submit(Client(), link).status_code == 302
    user.refresh_from_db()

    again = submit(Client(), link, "another long passphrase 77")

    assert again.status_code == 400 and "This link is not valid" in again.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_reset_link_opened_twice_can_set_a_password_only_once(link_for, user, django_capture_on_commit_callbacks):
    link = link_for(user)
    first, second = Client(), Client()
    assert first.get(link).url == RESET and second.get(link).url == RESET
    body = {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}

    with django_capture_on_commit_callbacks(execute=True):
        assert first.post(RESET, body).status_code == 302
    late = second.post(RESET, {"new_password": "another long passphrase 77",
                               "new_password_confirm": "another long passphrase 77"})

    assert late.status_code == 400
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(event_type=password_reset.PASSWORD_RESET).count() == 1


@pytest.mark.parametrize("seconds, works", [(59 * 60, True), (60 * 60 + 1, False)])
def test_reset_link_expires_after_an_hour(link_for, submit, user, clock, seconds, works):
    link = link_for(user)
    clock.advance(seconds)

    response = submit(Client(), link)

    if works:
        assert response.status_code == 302 and response.url == LOGIN
    else:
        assert_link_refused(response, user)


def test_reset_link_expiry_follows_the_setting(link_for, submit, user, clock, settings):
    settings.ACCOUNTS_PASSWORD_RESET_TIMEOUT = 10 * 60
    link = link_for(user)
    clock.advance(11 * 60)

    assert_link_refused(submit(Client(), link), user)


def test_reset_link_expires_between_opening_and_submitting(link_for, user, clock):
    browser = Client()
    assert browser.get(link_for(user)).url == RESET
    clock.advance(60 * 60 + 1)

    response = browser.post(RESET, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})

    assert_link_refused(response, user)


def test_reset_link_refused_after_a_later_password_change(link_for, submit, user, signed_in_client):
    link = link_for(user)
    signed_in_client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "changed meanwhile 2024!",
        "new_password_confirm": "changed meanwhile 2024!",
    })

    response = submit(Client(), link)

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password("changed meanwhile 2024!")


def test_reset_link_refused_after_password_changed_while_open(link_for, user, signed_in_client):
    browser = Client()
    assert browser.get(link_for(user)).url == RESET
    signed_in_client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "changed meanwhile 2024!",
        "new_password_confirm": "changed meanwhile 2024!",
    })

    response = browser.post(RESET, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password("changed meanwhile 2024!")


def test_reset_link_refused_after_the_next_sign_in(link_for, submit, user):
    link = link_for(user)
    assert sign_in(Client(), user, code=None).status_code == 302

    assert_link_refused(submit(Client(), link), user)


def test_reset_link_refused_after_an_administrator_reset(acme, link_for, submit, rf):
    add_fake_device(acme.alice)
    link = link_for(acme.alice)
    request = rf.post("/")
    request.user = acme.admin
    assert reset_member_method(request, actor=acme.admin, agency=acme.agency, target=acme.alice,
                               method=get_method("fake"))

    assert_link_refused(submit(Client(), link), acme.alice)


def tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize("case", ["tampered token", "other user's uid", "forged timestamp",
                                  "garbage uid", "garbage token"])
def test_reset_link_refused_when_forged(link_for, submit, user, make_user, case):
    other = make_user("other@example.test")
    _, _, _, _, uid, token, _ = link_for(user).split("/")
    other_uid = password_reset.urlsafe_base64_encode(str(other.pk).encode())
    stamp, digest = token.split("-")
    link = {
        "tampered token": f"/account/password/reset/{uid}/{tampered(token)}/",
        "other user's uid": f"/account/password/reset/{other_uid}/{token}/",
        # Another last digit (base 36): "z" would leave a stamp ending in "z" as it was.
        "forged timestamp": f"/account/password/reset/{uid}/{stamp[:-1]}{'y' if stamp[-1] == 'z' else 'z'}-{digest}/",
        "garbage uid": f"/account/password/reset/!!!/{token}/",
        "garbage token": f"/account/password/reset/{uid}/not-a-token/",
    }[case]

    browser = Client()
    response = submit(browser, link)

    assert_link_refused(response, user)
    other.refresh_from_db()
    assert other.check_password(PASSWORD)
    assert password_reset.SESSION_KEY not in browser.session


def test_reset_token_of_another_user_is_refused(link_for, submit, user, make_user):
    other = make_user("other@example.test")
    _, _, _, _, _, token_for_user, _ = link_for(user).split("/")
    other_uid = password_reset.urlsafe_base64_encode(str(other.pk).encode())
    other_link = link_for(other)

    response = submit(Client(), f"/account/password/reset/{other_uid}/{token_for_user}/")

    assert_link_refused(response, other)
    assert submit(Client(), other_link).status_code == 302  # its own link still works


def test_reset_page_without_an_opened_link_is_refused(client, user):
    response = client.post(RESET, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})

    assert_link_refused(response, user)


@pytest.mark.parametrize("new, confirm, message", [
    ("k7#vq9pz2mw", None, "at least 12 characters"),
    ("plover quartz umbrella 93", "plover quartz umbrella 94", "The two passwords do not match."),
    ("user@example.test", None, "too similar"),
    ("password1234", None, "too common"),
])
def test_reset_with_a_bad_new_password_is_refused_like_the_change_form(link_for, submit, user, new, confirm,
                                                                       message):
    browser = Client()
    link = link_for(user)

    response = submit(browser, link, new, confirm=confirm)

    assert response.status_code == 200 and message in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # The link is still good: the person can correct the password and submit again.
    retry = browser.post(RESET, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})
    assert retry.status_code == 302


def test_reset_ends_every_other_session(link_for, submit, user_with_mfa):
    elsewhere = Client()
    sign_in(elsewhere, user_with_mfa)
    assert elsewhere.get(reverse("accounts:profile")).status_code == 200
    stamp = user_with_mfa.session_stamp

    submit(Client(), link_for(user_with_mfa))

    user_with_mfa.refresh_from_db()
    assert user_with_mfa.session_stamp != stamp
    response = elsewhere.get(reverse("accounts:profile"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_reset_is_audited_and_emailed(link_for, submit, user):
    submit(Client(), link_for(user))

    event = AuditEvent.objects.get(event_type=password_reset.PASSWORD_RESET)
    assert event.target_user == user and event.ip_address == "127.0.0.1"
    done = mail.outbox[-1]
    assert done.to == [user.email]
    assert done.subject == "Your CallTrackingMetrics password was reset"
    assert "Every session of your account was signed out" in done.body


def test_reset_lifts_a_sign_in_lock_out(link_for, submit, user, settings):
    settings.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = (3, 900)
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(3):
        attacker.post(LOGIN, {"email": user.email, "password": "a wrong guess!"})
    assert "Too many attempts" in Client().post(LOGIN, {"email": user.email, "password": PASSWORD}).content.decode()

    submit(Client(), link_for(user))

    browser = Client()
    assert browser.post(LOGIN, {"email": user.email, "password": NEW_PASSWORD}).status_code == 302
    assert browser.session["_auth_user_id"] == str(user.pk)


# -- the limits ----------------------------------------------------------------

@pytest.fixture
def small_reset_limits(settings):
    settings.ACCOUNTS_PASSWORD_RESET_REQUESTS_PER_ACCOUNT = (3, 3600)
    settings.ACCOUNTS_PASSWORD_RESET_REQUESTS_PER_IP = (5, 3600)


@pytest.mark.parametrize("known", [True, False], ids=["known email", "unknown email"])
def test_request_reset_per_email_limit_answers_alike_for_known_and_unknown(ask, user, small_reset_limits,
                                                                           known, clock):
    email = user.email if known else "nobody@example.test"
    for number in range(3):
        assert ask(email, ip=f"203.0.113.{number + 1}").url == SENT

    blocked = ask(email, ip="203.0.113.99")

    assert blocked.status_code == 200
    assert re.search(r"Too many attempts\. Try again in \d+ minutes?\.", blocked.content.decode())
    assert len(mail.outbox) == (3 if known else 0)
    clock.advance(3600)
    assert ask(email, ip="203.0.113.99").url == SENT


def test_request_reset_per_email_limit_counts_every_spelling(ask, user, small_reset_limits):
    for email in ["user@example.test", "USER@example.test", " User@Example.Test "]:
        ask(email)

    assert "Too many attempts" in ask("uSeR@example.test", ip="203.0.113.50").content.decode()
    assert len(mail.outbox) == 3


def test_request_reset_per_ip_limit_covers_every_address(ask, user, small_reset_limits):
    for number in range(5):
        ask(f"guess{number}@example.test")

    blocked = ask(user.email)

    assert "Too many attempts" in blocked.content.decode()
    assert mail.outbox == []
    assert ask(user.email, ip="198.51.100.8").url == SENT  # another network is not affected
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(event_type=password_reset.PASSWORD_RESET_THROTTLED, target_user=user).exists()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_reset_link_submitted_twice_at_once_sets_one_password(link_for, user):
    link = link_for(user)
    browsers = [Client(), Client()]
    for browser in browsers:
        assert browser.get(link).url == RESET
    passwords = [NEW_PASSWORD, "another long passphrase 77"]

    statuses = run_concurrently(lambda i: browsers[i].post(RESET, {
        "new_password": passwords[i], "new_password_confirm": passwords[i]}).status_code)

    assert sorted(statuses) == [302, 400], statuses
    user.refresh_from_db()
    assert user.check_password(passwords[statuses.index(302)])
    assert AuditEvent.objects.filter(event_type=password_reset.PASSWORD_RESET).count() == 1
