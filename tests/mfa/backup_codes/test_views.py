"""The Backup Codes pages: set-up, "View Backup Codes", download, regenerate, and the step-up gate."""
import re
from urllib.parse import quote

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from ctm_auth import clock as project_clock
from mfa.backup_codes import flows
from mfa.backup_codes.models import BackupCode, BackupCodeSet
from tests.conftest import FAKE_CODE, PASSWORD, let_step_up_window_pass
from tests.fake_method.models import FakeDevice
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.urlwalk import walk

pytestmark = pytest.mark.django_db

# Literal paths: reversing at import time would load the URLconf during collection.
MANAGE = "/mfa/backup_codes/"
GENERATE = "/mfa/backup_codes/generate/"
NEW = "/mfa/backup_codes/new/"
VIEW = "/mfa/backup_codes/view/"
DOWNLOAD = "/mfa/backup_codes/download/"
REGENERATE = "/mfa/backup_codes/regenerate/"
CODE_RE = re.compile(r"\b[2-9a-z]{6}-[2-9a-z]{6}\b")


def shown_codes(response) -> list[str]:
    return [c for c in CODE_RE.findall(response.content.decode()) if c != "7hx4km-2q9pab"]


def test_url_names_are_namespaced_under_mfa_backup_codes():
    assert [reverse(f"mfa:backup_codes:{name}") for name in ("manage", "generate", "new", "view", "download",
                                                            "regenerate")] == [MANAGE, GENERATE, NEW, VIEW, DOWNLOAD,
                                                                               REGENERATE]


def test_every_backup_codes_view_requires_reauthentication():
    views = [url for url in walk() if url.name and url.name.startswith("mfa:backup_codes:")]
    assert {url.name for url in views} == {
        "mfa:backup_codes:manage", "mfa:backup_codes:generate", "mfa:backup_codes:new",
        "mfa:backup_codes:view", "mfa:backup_codes:download", "mfa:backup_codes:regenerate",
    }
    assert all(getattr(url.callback, "reauthentication_required", False) for url in views)


@pytest.mark.parametrize("url", [MANAGE, VIEW, DOWNLOAD, REGENERATE])
def test_pages_ask_to_reauthenticate_once_the_window_closed(client, user_with_mfa, url):
    set_up_codes(user_with_mfa)
    client.post(reverse("accounts:login"), {"email": user_with_mfa.email, "password": PASSWORD})
    client.post(reverse("accounts:login_verify"), {"code": FAKE_CODE})
    let_step_up_window_pass()  # the sign-in's own window
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:reauthenticate')}?next={quote(url, safe='')}"
    assert not AuditEvent.objects.filter(event_type=flows.VIEWED).exists()


def test_profile_offers_add_edit_for_backup_codes(fresh_client):
    response = fresh_client.get(reverse("accounts:profile"))
    html = response.content.decode()
    assert "Backup Codes" in html
    assert f'href="{MANAGE}"' in html


def test_manage_without_primary_method_offers_no_generate_button(client, user, password):
    client.post(reverse("accounts:login"), {"email": user.email, "password": password})
    client.post(reverse("accounts:reauthenticate"), {"password": password})
    response = client.get(MANAGE)
    assert response.status_code == 200
    assert "Set up Text Messages or Google Authenticator first" in response.content.decode()
    assert "Generate Backup Codes" not in response.content.decode()
    refused = client.post(GENERATE, follow=True)
    assert "Set up Text Messages or Google Authenticator first" in refused.content.decode()
    assert not BackupCodeSet.objects.filter(user=user).exists()


def test_generate_shows_ten_codes_once_and_set_up_needs_the_saved_tick(fresh_client, user_with_mfa):
    page = fresh_client.get(MANAGE)
    assert "Generate Backup Codes" in page.content.decode()

    response = fresh_client.post(GENERATE)
    assert response.status_code == 302 and response.url == NEW
    page = fresh_client.get(NEW)
    html = page.content.decode()
    codes_on_page = shown_codes(page)
    assert len(codes_on_page) == 10 and len(set(codes_on_page)) == 10
    for label in ("Copy", "Download", "Print", "I have saved these codes"):
        assert label in html
    assert "backup_codes.js" in html and 'media="print"' in html
    assert "<script>" not in html and "style=" not in html  # the CSP forbids both

    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    assert not code_set.confirmed  # not usable until the user says they saved them

    unticked = fresh_client.post(NEW, {})
    assert unticked.status_code == 200
    assert "Tick “I have saved these codes”" in unticked.content.decode()
    code_set.refresh_from_db()
    assert not code_set.confirmed

    done = fresh_client.post(NEW, {"saved": "on"})
    assert done.status_code == 302 and done.url == reverse("accounts:profile")
    code_set.refresh_from_db()
    assert code_set.confirmed and code_set.saved_at is not None
    # Shown once: the set-up page does not show them again.
    assert fresh_client.get(NEW).url == MANAGE
    profile = fresh_client.get(reverse("accounts:profile")).content.decode()
    assert "10 of 10 codes remaining" in profile
    assert "Your backup codes are ready" in profile


def test_generate_twice_before_saving_replaces_the_unsaved_set(fresh_client, user_with_mfa):
    fresh_client.post(GENERATE)
    first = shown_codes(fresh_client.get(NEW))
    fresh_client.post(GENERATE)
    second = shown_codes(fresh_client.get(NEW))
    assert not set(first) & set(second)
    assert BackupCode.objects.current().filter(code_set__user=user_with_mfa).count() == 10


def test_generate_when_already_set_up_goes_through_regenerate(fresh_client, user_with_mfa):
    codes = set_up_codes(user_with_mfa)
    response = fresh_client.post(GENERATE, follow=True)
    assert "Use Regenerate to replace them" in response.content.decode()
    assert [r.code for r in flows.selectors.code_rows(BackupCodeSet.objects.get(user=user_with_mfa))] == codes


def test_manage_page_of_a_set_up_user_offers_view_and_regenerate(fresh_client, user_with_mfa):
    set_up_codes(user_with_mfa)
    html = fresh_client.get(MANAGE).content.decode()
    assert "View Backup Codes" in html and "Regenerate" in html
    assert "10 of 10 codes remaining" in html
    assert "Generate Backup Codes" not in html
    assert not CODE_RE.findall(html.replace("7hx4km-2q9pab", ""))  # no code without the View step


def test_view_lists_the_set_strikes_used_codes_and_is_audited(fresh_client, user_with_mfa,
                                                            django_capture_on_commit_callbacks):
    codes = set_up_codes(user_with_mfa)
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    assert code_set.consume(codes[2].replace("-", "")) == "ok"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = fresh_client.get(VIEW)
    html = response.content.decode()
    assert response.status_code == 200
    for code in codes:
        assert code in html
    assert f"<del>{codes[2]}</del>" in html
    assert f"<del>{codes[0]}</del>" not in html
    assert "9 codes remaining" in html
    assert f"{code_set.generated_at:%Y}" in html and "generated on" in html
    event = AuditEvent.objects.get(event_type=flows.VIEWED)
    assert event.target_user == user_with_mfa and event.actor == user_with_mfa
    assert event.data == {"via": "page"}
    assert not any(code.replace("-", "") in str(event.data) for code in codes)
    assert [m.subject for m in mail.outbox] == ["Your CallTrackingMetrics backup codes were viewed"]
    assert "127.0.0.1" in mail.outbox[0].body


def test_download_is_an_uncached_attachment_named_after_product_email_and_date(fresh_client, user_with_mfa,
                                                                              django_capture_on_commit_callbacks):
    codes = set_up_codes(user_with_mfa)
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    code_set.consume(codes[0].replace("-", ""))
    with django_capture_on_commit_callbacks(execute=True):
        response = fresh_client.get(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    date = code_set.generated_at.strftime("%Y-%m-%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="CallTrackingMetrics-backup-codes-user@example.test-{date}.txt"')
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    body = response.content.decode()
    assert body.startswith("CallTrackingMetrics backup codes\nAccount: user@example.test\n")
    for code in codes[1:]:
        assert f". {code}\n" in body
    assert f" 1. {codes[0]}  (used)\n" in body
    event = AuditEvent.objects.get(event_type=flows.VIEWED)
    assert event.data == {"via": "download", "during_set_up": False}
    assert [m.subject for m in mail.outbox] == ["Your CallTrackingMetrics backup codes were viewed"]
    assert "downloaded" in mail.outbox[0].body


def test_download_during_set_up_gives_the_new_set(fresh_client, user_with_mfa, django_capture_on_commit_callbacks):
    fresh_client.post(GENERATE)
    on_page = shown_codes(fresh_client.get(NEW))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        body = fresh_client.get(DOWNLOAD).content.decode()
    assert [line.split(". ")[1] for line in body.splitlines() if re.match(r"^ ?\d+\. ", line)] == on_page
    assert AuditEvent.objects.get(event_type=flows.VIEWED).data == {"via": "download", "during_set_up": True}
    assert mail.outbox == []  # the "generated" email already covers the set-up


def test_regenerate_asks_first_then_replaces_every_code_and_shows_the_new_set(fresh_client, user_with_mfa):
    old = set_up_codes(user_with_mfa)
    confirm = fresh_client.get(REGENERATE)
    assert confirm.status_code == 200
    assert "All 10 of your current codes stop working immediately" in confirm.content.decode()
    code_set = BackupCodeSet.objects.get(user=user_with_mfa)
    assert [r.code for r in flows.selectors.code_rows(code_set)] == old  # a GET changes nothing

    response = fresh_client.post(REGENERATE)
    assert response.status_code == 302 and response.url == NEW
    new = shown_codes(fresh_client.get(NEW))
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditEvent.objects.filter(event_type=flows.REGENERATED, target_user=user_with_mfa).count() == 1
    code_set.refresh_from_db()
    assert code_set.confirmed  # the new codes work at once, the old ones never again
    assert code_set.consume(old[0].replace("-", "")) == "replaced"
    assert code_set.consume(new[0].replace("-", "")) == "ok"


def test_regenerate_without_a_set_goes_back_to_the_add_edit_page(fresh_client):
    assert fresh_client.get(REGENERATE).url == MANAGE
    assert fresh_client.post(REGENERATE).url == MANAGE


def test_view_without_a_set_goes_back_to_the_add_edit_page(fresh_client):
    assert fresh_client.get(VIEW).url == MANAGE
    assert fresh_client.get(DOWNLOAD).url == MANAGE
    assert not AuditEvent.objects.filter(event_type=flows.VIEWED).exists()


def test_pages_send_no_cache_headers(fresh_client, user_with_mfa):
    set_up_codes(user_with_mfa)
    for url in (MANAGE, VIEW, REGENERATE):
        assert "no-store" in fresh_client.get(url)["Cache-Control"]


def test_generate_is_post_only(fresh_client):
    assert fresh_client.get(GENERATE).status_code == 405
    assert not BackupCodeSet.objects.exists()


def test_removing_the_fake_primary_method_is_reflected_on_the_manage_page(fresh_client, user_with_mfa):
    set_up_codes(user_with_mfa)
    FakeDevice.objects.filter(user=user_with_mfa).delete()
    project_clock.advance(1)
    html = fresh_client.get(MANAGE).content.decode()
    assert "these codes will be removed" in html


def test_saved_tick_after_a_regeneration_elsewhere_is_refused(fresh_client, user_with_mfa):
    from tests.mfa.backup_codes.conftest import flow_request

    fresh_client.post(GENERATE)
    assert fresh_client.get(NEW).status_code == 200
    flows.generate_codes(flow_request(user_with_mfa), user=user_with_mfa)  # another tab or device
    response = fresh_client.post(NEW, {"saved": "on"})
    assert response.status_code == 302 and response.url == MANAGE
    assert not BackupCodeSet.objects.get(user=user_with_mfa).confirmed
