"""The user look-up of every request and sign-in (mfa.registry.load_user_with_states, a prepared statement).

It binds the typed email as the ORM would, so LIKE's wildcards in an address
(SQLite compares case-insensitively with LIKE) match only themselves.
"""
from django.urls import reverse

from mfa.registry import load_user_with_states, method_states
from tests.conftest import PASSWORD, add_fake_device


def test_an_underscore_or_percent_in_the_address_matches_only_itself(make_user):
    underscore = make_user("a_b@example.test")
    other = make_user("axb@example.test")

    assert load_user_with_states(email__iexact="a_b@example.test") == underscore
    assert load_user_with_states(email__iexact="A_B@EXAMPLE.TEST") == underscore
    assert load_user_with_states(email__iexact="axb@example.test") == other
    assert load_user_with_states(email__iexact="a%b@example.test") is None
    assert load_user_with_states(email__iexact="a\\_b@example.test") is None


def test_signing_in_as_a_lookalike_address_is_refused(client, make_user):
    make_user("a_b@example.test", password="the other person's password 1")
    make_user("axb@example.test")

    response = client.post(reverse("accounts:login"), {"email": "a_b@example.test", "password": PASSWORD})

    assert response.status_code == 200 and "Incorrect email or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_loaded_user_carries_every_methods_state_and_honours_constant_lookups(make_user):
    user = make_user("states@example.test")
    add_fake_device(user)

    loaded = load_user_with_states(pk=user.pk, is_active=True)

    assert method_states(loaded)["fake"] is True and method_states(loaded)["totp"] is False
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert load_user_with_states(pk=user.pk, is_active=True) is None
    assert load_user_with_states(pk="not a number") is None
