"""Safer admin actions (issue 12, section 3).

Disable warns when it takes a member's last method (their backup codes go
too) and points at the temporary access pass; "Generate Backup Codes" asks
before it replaces a set in use; the admin's view of a member's codes has
Copy, Download and Print naming the member; an admin reset, and an admin's
new codes, revoke the member's trusted browsers.
"""
import html
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.timezone import localtime

from accounts import trusted_browsers
from accounts.models import AuditEvent, TrustedBrowser
from agencies import flows
from ctm_auth.dates import format_day
from mfa.backup_codes import flows as backup_flows
from mfa.backup_codes.models import BackupCodeSet
from mfa.flows import BACKUP_METHODS_DESTROYED
from tests.accounts.test_trusted_browsers import assert_asks_for_the_code, trusted_browser_of
from tests.agencies.test_member_reset import admin_client, reset_url
from tests.conftest import add_fake_device, open_after_step_up, sign_in
from tests.mfa.backup_codes.conftest import flow_request, set_up_codes, sign_in_with_backup_code
from tests.mfa.totp.conftest import enrol

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")

LAST_METHOD = ("This is Alice Example's only two-factor method. Disabling it also deletes their backup codes, "
               "and they will sign in with their password alone until they set up a new method.")
ACCESS_PASS = ("If they lost their phone, issue a temporary access pass instead: they sign in with it and set up "
               "a new method.")
CODES_DELETED_EMAIL = "your backup codes were deleted too"


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def codes_urls(agency, member) -> dict[str, str]:
    args = [agency.pk, member.pk]
    return {
        "manage": reverse("agencies:member_backup_codes", args=args),
        "reveal": reverse("agencies:member_backup_codes_reveal", args=args),
        "generate": reverse("agencies:member_backup_codes_generate", args=args),
    }


def use_codes(user, codes: list[str]) -> None:
    for code in codes:
        assert backup_flows.verify_code(flow_request(), user=user, code=code, purpose="sign_in").ok


def current_version(user) -> str:
    return backup_flows.set_version(BackupCodeSet.objects.get(user=user))


# -- Disable: the last primary method ------------------------------------------

def test_disable_page_warns_when_it_is_the_members_last_method(acme):
    add_fake_device(acme.alice)
    set_up_codes(acme.alice)
    client = admin_client(acme.owner)

    page = text(open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice)))

    assert LAST_METHOD in page
    assert ACCESS_PASS in page


def test_disable_page_without_codes_still_warns_of_password_alone(acme):
    add_fake_device(acme.alice)
    client = admin_client(acme.owner)

    page = text(open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice)))

    assert "This is Alice Example's only two-factor method." in page
    assert "sign in with their password alone until they set up a new method" in page
    assert "deletes their backup codes" not in page  # she has none to lose
    assert ACCESS_PASS in page


def test_disable_page_says_nothing_of_it_when_another_method_remains(acme):
    add_fake_device(acme.alice)
    enrol(acme.alice)
    set_up_codes(acme.alice)
    client = admin_client(acme.owner)

    page = text(open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice, "totp")))

    assert "Disable" in page
    assert "only two-factor method" not in page
    assert "deletes their backup codes" not in page
    assert "temporary access pass" not in page


def test_reset_of_the_last_method_deletes_codes_and_the_email_says_so(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    old_codes = set_up_codes(acme.alice)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reset_url(acme.agency, acme.alice)).status_code == 302

    assert not BackupCodeSet.objects.filter(user=acme.alice).exists()
    assert AuditEvent.objects.get(event_type=BACKUP_METHODS_DESTROYED).actor == acme.owner
    reset = AuditEvent.objects.get(event_type=flows.MEMBER_METHOD_RESET)
    assert reset.data["backup_codes_destroyed"] is True
    [email] = mail.outbox
    assert email.to == ["alice@acme.test"]
    body = " ".join(email.body.split())
    assert CODES_DELETED_EMAIL in body and "sign in with your password alone" in body
    # An old code opens nothing: she has no step 2 now, and the code is not a password.
    refused = Client().post(reverse("accounts:login"), {"email": "alice@acme.test", "password": old_codes[0]})
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session


def test_reset_of_one_of_two_methods_keeps_codes_and_the_email_does_not_mention_them(
        acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.alice)
    enrol(acme.alice)
    codes = set_up_codes(acme.alice)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice, "totp"))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reset_url(acme.agency, acme.alice, "totp")).status_code == 302

    assert BackupCodeSet.objects.filter(user=acme.alice, confirmed=True).exists()
    [email] = mail.outbox
    assert "backup codes" not in email.body and "Your other two-factor methods still work" in email.body
    signed_in = sign_in_with_backup_code(Client(), acme.alice, codes[0])
    assert signed_in.status_code == 302 and signed_in.client.session["_auth_user_id"] == str(acme.alice.pk)


# -- Generate Backup Codes: confirm before replacing a set in use ---------------

def test_generate_without_confirmation_asks_and_changes_nothing(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.bob)
    old_codes = set_up_codes(acme.bob)
    use_codes(acme.bob, old_codes[:3])
    before = current_version(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])
    mail.outbox.clear()
    events = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(codes_urls(acme.agency, acme.bob)["generate"])

    assert asked.status_code == 200
    assert ("Generating new codes for Bob Example invalidates their current 10 codes (7 unused). Continue?"
            in text(asked))
    assert not any(code in asked.content.decode() for code in old_codes)  # a question, not a reveal
    assert current_version(acme.bob) == before
    assert mail.outbox == [] and AuditEvent.objects.count() == events
    signed_in = sign_in_with_backup_code(Client(), acme.bob, old_codes[5])
    assert signed_in.status_code == 302 and signed_in.client.session["_auth_user_id"] == str(acme.bob.pk)


def test_generate_with_confirmation_replaces_the_codes_and_emails(acme, django_capture_on_commit_callbacks):
    add_fake_device(acme.bob)
    old_codes = set_up_codes(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])
    asked = client.post(codes_urls(acme.agency, acme.bob)["generate"]).content.decode()
    replacing = re.search(r'name="replacing" value="([^"]*)"', asked).group(1)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shown = client.post(codes_urls(acme.agency, acme.bob)["generate"], {"confirm": "1", "replacing": replacing})

    assert shown.status_code == 200 and "A new set was generated" in text(shown)
    new_codes = [row.code for row in backup_flows._view_of(BackupCodeSet.objects.get(user=acme.bob)).rows]
    assert all(code in shown.content.decode() for code in new_codes)
    assert AuditEvent.objects.get(event_type=backup_flows.REGENERATED).actor == acme.owner
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]
    signed_in = sign_in_with_backup_code(Client(), acme.bob, new_codes[0])
    assert signed_in.status_code == 302
    refused = sign_in_with_backup_code(Client(), acme.bob, old_codes[0])
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session


@pytest.mark.parametrize("replacing", ["stale", "", "garbage", "1:2026-01-01T00:00:00+00:00" * 20])
def test_generate_with_a_confirmation_that_no_longer_matches_changes_nothing(acme, replacing):
    add_fake_device(acme.bob)
    set_up_codes(acme.bob)
    stale = current_version(acme.bob)
    # Bob makes a new set himself after the administrator's confirmation page was shown.
    bobs_codes = set_up_codes_again(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])
    before = current_version(acme.bob)
    mail.outbox.clear()

    refused = client.post(codes_urls(acme.agency, acme.bob)["generate"],
                          {"confirm": "1", "replacing": stale if replacing == "stale" else replacing})

    assert refused.status_code == 400
    assert "Their backup codes changed since this page was opened" in text(refused)
    assert "Continue?" in text(refused)  # asked again, with the numbers of the set in use now
    assert current_version(acme.bob) == before and mail.outbox == []
    assert not AuditEvent.objects.filter(event_type=backup_flows.REGENERATED, actor=acme.owner).exists()
    assert sign_in_with_backup_code(Client(), acme.bob, bobs_codes[0]).status_code == 302


def set_up_codes_again(user) -> list[str]:
    """Regenerate ``user``'s set as they would themselves and tick "saved"; return the new codes."""
    request = flow_request(user)
    backup_flows.regenerate_codes(request, user=user)
    shown = backup_flows.fresh_codes(request, user)
    backup_flows.confirm_saved(request, user=user)
    return [row.code for row in shown.rows]


def test_generate_of_a_first_set_needs_no_confirmation(acme):
    add_fake_device(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])

    shown = client.post(codes_urls(acme.agency, acme.bob)["generate"])

    assert shown.status_code == 200 and "A new set was generated" in text(shown)
    assert BackupCodeSet.objects.get(user=acme.bob).confirmed


def test_generate_confirmed_after_the_page_window_changes_nothing(acme, clock):
    from mfa.app_settings import app_settings as mfa_settings

    add_fake_device(acme.bob)
    old_codes = set_up_codes(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])
    client.post(codes_urls(acme.agency, acme.bob)["generate"])
    replacing = current_version(acme.bob)
    clock.advance(mfa_settings.REAUTH_MEMBER_PAGE_WINDOW + 1)

    response = client.post(codes_urls(acme.agency, acme.bob)["generate"], {"confirm": "1", "replacing": replacing})

    assert response.status_code == 302 and reverse("accounts:reauthenticate") in response.url
    assert current_version(acme.bob) == replacing
    assert sign_in_with_backup_code(Client(), acme.bob, old_codes[0]).status_code == 302


# -- the admin's view of a member's codes: Copy, Download, Print ----------------

def revealed(acme, member):
    client = admin_client(acme.admin)
    open_after_step_up(client, acme.admin, codes_urls(acme.agency, member)["manage"])
    return client.post(codes_urls(acme.agency, member)["reveal"])


def sheet_of(response) -> str:
    """The <section> holding the codes (the printable sheet), as HTML."""
    page = response.content.decode()
    start = page.index('<section class="card backup-codes-sheet">')
    return page[start:page.index("</section>", start)]


def test_shown_codes_have_copy_download_and_print(acme):
    add_fake_device(acme.bob)
    codes = set_up_codes(acme.bob)

    response = revealed(acme, acme.bob)

    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    for control, label in (("data-copy-codes", "Copy"), ("data-download-codes", "Download"),
                           ("data-print-codes", "Print")):
        assert re.search(rf"<button[^>]*{control}[^>]*>{label}</button>", page), control
    assert "mfa/backup_codes/backup_codes.js" in page and "mfa/backup_codes/print.css" in page
    assert all(code in page for code in codes)


def test_print_sheet_and_file_name_the_member_not_the_admin(acme):
    add_fake_device(acme.bob)
    codes = set_up_codes(acme.bob)
    when = localtime(BackupCodeSet.objects.get(user=acme.bob).generated_at)
    heading = f"Backup codes for Bob Example <bob@acme.test>, Acme Agency, generated {format_day(when)}"

    response = revealed(acme, acme.bob)

    sheet = html.unescape(sheet_of(response))
    assert f'<p class="print-only" id="print-heading">{heading}</p>' in sheet
    file_text = html.unescape(re.search(r'<pre id="backup-codes-file" hidden>(.*?)</pre>', sheet, re.S).group(1))
    assert file_text.startswith(heading + "\n")
    assert all(code in file_text for code in codes)
    filename = re.search(r'data-filename="([^"]+)"', sheet).group(1)
    assert "bob@acme.test" in filename and filename.endswith(f"{when:%Y-%m-%d}.txt")
    for admin in ("admin@acme.test", "Adam Admin"):
        assert admin not in sheet and admin not in filename
    assert "admin@acme.test" in response.content.decode()  # only in the top bar, which print.css hides


def test_print_sheet_escapes_the_members_name(acme, make_user):
    from agencies.flows import add_member
    from agencies.models import Role

    mallory = make_user("mallory@acme.test", name="<b>Mallory</b>")
    add_member(agency=acme.agency, user=mallory, role=Role.USER)
    add_fake_device(mallory)
    set_up_codes(mallory)

    sheet = sheet_of(revealed(acme, mallory))

    assert "<b>Mallory</b>" not in sheet and "&lt;b&gt;Mallory&lt;/b&gt; &lt;mallory@acme.test&gt;" in sheet


# -- an admin reset revokes the member's trusted browsers -----------------------

def test_admin_reset_leaves_the_member_no_trusted_browser(acme):
    add_fake_device(acme.alice)
    enrol(acme.alice)
    trusted = trusted_browser_of(acme.alice)
    assert TrustedBrowser.objects.filter(user=acme.alice, revoked_at=None).count() == 1
    client = admin_client(acme.admin)
    open_after_step_up(client, acme.admin, reset_url(acme.agency, acme.alice, "totp"))

    assert client.post(reset_url(acme.agency, acme.alice, "totp")).status_code == 302

    assert not TrustedBrowser.objects.filter(user=acme.alice, revoked_at=None).exists()
    assert set(TrustedBrowser.objects.filter(user=acme.alice).values_list("revoked_reason", flat=True)) == {
        "admin_reset"}
    event = AuditEvent.objects.get(event_type=trusted_browsers.BROWSER_REVOKED)
    assert (event.actor, event.target_user, event.agency, event.data["count"]) == (
        acme.admin, acme.alice, acme.agency, 1)
    assert_asks_for_the_code(trusted, acme.alice)  # the fake method is left, and asked for
    own = Client()
    assert sign_in(own, acme.alice).status_code == 302
    profile = text(own.get(PROFILE))
    assert "Trusted browsers" in profile and "No trusted browsers." in profile


def test_admin_generate_also_revokes_the_members_trusted_browsers(acme):
    add_fake_device(acme.bob)
    set_up_codes(acme.bob)
    trusted = trusted_browser_of(acme.bob)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])

    client.post(codes_urls(acme.agency, acme.bob)["generate"], {"confirm": "1", "replacing": current_version(acme.bob)})

    assert not TrustedBrowser.objects.filter(user=acme.bob, revoked_at=None).exists()
    event = AuditEvent.objects.get(event_type=trusted_browsers.BROWSER_REVOKED)
    assert (event.actor, event.agency, event.data["reason"]) == (acme.owner, acme.agency, "admin_backup_codes")
    assert_asks_for_the_code(trusted, acme.bob)


def test_a_reset_that_changes_nothing_revokes_nothing(acme):
    add_fake_device(acme.alice)
    trusted_browser_of(acme.alice)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, reset_url(acme.agency, acme.alice, "totp"))  # she has no TOTP

    client.post(reset_url(acme.agency, acme.alice, "totp"))

    assert TrustedBrowser.objects.filter(user=acme.alice, revoked_at=None).count() == 1
    assert not AuditEvent.objects.filter(event_type=trusted_browsers.BROWSER_REVOKED).exists()


# -- two confirmations of the same set at once --------------------------------

@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_confirming_the_same_set_at_once_replace_it_once(acme):
    """The owner and the admin both confirmed "replace Bob's codes": one new set, the other is asked again."""
    from tests.concurrency import run_concurrently

    add_fake_device(acme.bob)
    set_up_codes(acme.bob)
    version = current_version(acme.bob)
    actors = [acme.owner, acme.admin]

    def confirm(index: int):
        return backup_flows.generate_for_user(flow_request(actors[index]), actor=actors[index], target=acme.bob,
                                              agency=acme.agency, replacing=version)

    results = run_concurrently(confirm)

    refused = [r for r in results if isinstance(r, backup_flows.BackupCodesError)]
    assert len(refused) == 1 and refused[0].error == "confirm_replace", results
    [shown] = [r for r in results if isinstance(r, backup_flows.CodeSetView)]
    assert {row.code for row in shown.rows} == {
        row.code for row in backup_flows._view_of(BackupCodeSet.objects.get(user=acme.bob)).rows}
    assert AuditEvent.objects.filter(event_type=backup_flows.REGENERATED).count() == 1


def test_generate_for_a_member_is_refused_while_their_agency_turned_backup_codes_off(acme):
    from agencies import policy

    add_fake_device(acme.bob)
    set_up_codes(acme.bob)
    before = current_version(acme.bob)
    type(acme.agency).objects.filter(pk=acme.agency.pk).update(require_two_factor=True, allow_backup_codes=False)
    policy.forget_agency(acme.agency)
    client = admin_client(acme.owner)
    open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])

    refused = client.post(codes_urls(acme.agency, acme.bob)["generate"], {"confirm": "1", "replacing": before},
                          follow=True)

    assert "does not allow Backup Codes" in text(refused)
    assert current_version(acme.bob) == before  # the old set stands, untouched
    assert not AuditEvent.objects.filter(event_type__in=[backup_flows.GENERATED, backup_flows.REGENERATED],
                                         data__by_admin=True).exists()


def test_the_members_backup_codes_page_recommends_a_temporary_access_pass_first(acme):
    add_fake_device(acme.bob)
    set_up_codes(acme.bob)
    client = admin_client(acme.owner)

    page = open_after_step_up(client, acme.owner, codes_urls(acme.agency, acme.bob)["manage"])

    assert "Issue a temporary access pass instead of reading out their codes" in text(page)
    assert reverse("agencies:member_access_pass", args=[acme.agency.pk, acme.bob.pk]) in page.content.decode()
