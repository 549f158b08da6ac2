"""Password rules, checked where a user meets them: the Change password page."""
import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def change_password(client, new: str, *, old: str = PASSWORD, confirm: str | None = None):
    return client.post(reverse("accounts:password_change"), {
        "old_password": old, "new_password": new,
        "new_password_confirm": new if confirm is None else confirm,
    })


def new_password_errors(response) -> list[str]:
    return response.context["form"].errors.get("new_password", [])


def assert_refused(response, user, message_part: str) -> None:
    assert response.status_code == 200
    errors = new_password_errors(response)
    assert any(message_part in error for error in errors), errors
    assert message_part in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(event_type="password.changed").exists()


def assert_accepted(response, user, new: str) -> None:
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert response.url == reverse("accounts:profile")
    user.refresh_from_db()
    assert user.check_password(new)


def test_change_password_with_11_characters_is_refused(signed_in_client, user):
    response = change_password(signed_in_client, "k7#vq9pz2mw")

    assert_refused(response, user, "at least 12 characters")


def test_change_password_with_12_characters_is_accepted(signed_in_client, user):
    response = change_password(signed_in_client, "k7#vq9pz2mwr")

    assert_accepted(response, user, "k7#vq9pz2mwr")


def test_change_password_with_64_characters_is_accepted(signed_in_client, user):
    new = ("plover quartz umbrella vintage " * 3)[:64]
    assert len(new) == 64

    assert_accepted(change_password(signed_in_client, new), user, new)


def test_change_password_with_256_characters_is_accepted(signed_in_client, user):
    new = ("marmalade Xylophone 93 drift " * 10)[:256]
    assert len(new) == 256

    assert_accepted(change_password(signed_in_client, new), user, new)


def test_change_password_with_257_characters_is_refused(signed_in_client, user):
    new = ("marmalade Xylophone 93 drift " * 10)[:257]
    assert len(new) == 257

    assert_refused(change_password(signed_in_client, new), user, "at most 256 characters")


@pytest.mark.parametrize("common", ["1q2w3e4r5t6y", "administrator", "123456789000"])
def test_change_password_to_common_password_is_refused(signed_in_client, user, common):
    assert_refused(change_password(signed_in_client, common), user, "too common")


@pytest.mark.parametrize("similar", ["user@example.test", "user@example.test1", "ursulauser2024"])
def test_change_password_similar_to_email_or_name_is_refused(signed_in_client, user, similar):
    assert_refused(change_password(signed_in_client, similar), user, "too similar")


@pytest.mark.parametrize("plain", [
    "onlylowercaseletterspassphrase",  # no digit, no capital, no symbol
    "839201746512",  # digits only
    "ALL CAPS AND SPACES",
])
def test_change_password_without_character_classes_is_accepted(signed_in_client, user, plain):
    assert_accepted(change_password(signed_in_client, plain), user, plain)


def test_change_password_with_mismatched_confirmation_is_refused(signed_in_client, user):
    response = change_password(signed_in_client, "k7#vq9pz2mwr", confirm="k7#vq9pz2mwX")

    assert response.status_code == 200
    assert "The two passwords do not match." in response.context["form"].errors["new_password_confirm"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_password_with_wrong_current_password_is_refused(signed_in_client, user):
    response = change_password(signed_in_client, "k7#vq9pz2mwr", old="not my password")

    assert response.status_code == 200
    assert "Your current password was entered incorrectly." in response.context["form"].errors["old_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_password_audits_emails_and_keeps_this_session(signed_in_client, user,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the email goes out on commit
        response = change_password(signed_in_client, "a brand new passphrase")

    assert response.status_code == 302
    assert signed_in_client.get(reverse("accounts:profile")).status_code == 200
    assert AuditEvent.objects.filter(event_type="password.changed", actor=user).count() == 1
    assert [message.to for message in mail.outbox] == [[user.email]]
