"""The Settings menu (agencies.navigation): only entries that lead somewhere the user may go."""
import pytest
from django.urls import reverse

from agencies import navigation
from agencies.flows import add_member
from agencies.models import Role
from agencies.navigation import settings_menu_for


@pytest.mark.django_db
@pytest.mark.parametrize("member", ["alice", "bob"])
def test_settings_menu_for_plain_user_is_empty(acme, member):
    assert settings_menu_for(getattr(acme, member)) == []


@pytest.mark.django_db
def test_settings_menu_for_user_in_no_agency_is_empty(user):
    assert settings_menu_for(user) == []


@pytest.mark.django_db
@pytest.mark.parametrize("member, role", [("owner", Role.OWNER), ("admin", Role.ADMIN)])
def test_settings_menu_for_manager_lists_the_entries_of_their_role(acme, member, role):
    expected = [
        reverse(url_name, kwargs={"agency_id": acme.agency.pk})
        for _label, url_name, roles in navigation.SETTINGS_ENTRIES
        if role in roles
    ]

    assert [entry.url for entry in settings_menu_for(getattr(acme, member))] == expected


@pytest.mark.django_db
def test_settings_menu_for_admin_leaves_out_owner_only_entries(acme, monkeypatch):
    monkeypatch.setattr(navigation, "SETTINGS_ENTRIES", [
        ("Manage Users", "settings:manage_users", frozenset({Role.OWNER, Role.ADMIN})),
        ("Owner only", "agencies:security_policy", frozenset({Role.OWNER})),
    ])

    assert [e.label for e in settings_menu_for(acme.owner)] == ["Manage Users", "Owner only"]
    assert [e.label for e in settings_menu_for(acme.admin)] == ["Manage Users"]


@pytest.mark.django_db
def test_settings_menu_for_leaves_out_entry_whose_page_does_not_exist(acme, monkeypatch):
    """Show no entry that leads nowhere: an entry added before its page is left out."""
    monkeypatch.setattr(navigation, "SETTINGS_ENTRIES", [
        ("Coming soon", "agencies:no_such_page", frozenset({Role.OWNER, Role.ADMIN})),
        ("Manage Users", "settings:manage_users", frozenset({Role.OWNER, Role.ADMIN})),
    ])

    assert [e.label for e in settings_menu_for(acme.owner)] == ["Manage Users"]


@pytest.mark.django_db
def test_settings_menu_for_without_entries_is_empty(acme, monkeypatch):
    monkeypatch.setattr(navigation, "SETTINGS_ENTRIES", [])

    assert settings_menu_for(acme.owner) == []


@pytest.mark.django_db
def test_settings_menu_for_manager_of_two_agencies_names_each_agency(acme, solo, monkeypatch):
    monkeypatch.setattr(navigation, "SETTINGS_ENTRIES", [
        ("Manage Users", "settings:manage_users", frozenset({Role.OWNER, Role.ADMIN})),
    ])
    add_member(agency=solo.agency, user=acme.admin, role=Role.ADMIN)

    entries = {e.label: e.url for e in settings_menu_for(acme.admin)}

    assert entries == {
        "Manage Users (Acme Agency)": reverse("settings:manage_users", kwargs={"agency_id": acme.agency.pk}),
        "Manage Users (Solo Shop)": reverse("settings:manage_users", kwargs={"agency_id": solo.agency.pk}),
    }


@pytest.mark.django_db
def test_settings_menu_for_user_in_one_agency_manager_in_another_shows_only_the_managed_one(acme, solo, monkeypatch):
    monkeypatch.setattr(navigation, "SETTINGS_ENTRIES", [
        ("Manage Users", "settings:manage_users", frozenset({Role.OWNER, Role.ADMIN})),
    ])
    add_member(agency=solo.agency, user=acme.alice, role=Role.ADMIN)

    entries = settings_menu_for(acme.alice)

    assert [e.url for e in entries] == [reverse("settings:manage_users", kwargs={"agency_id": solo.agency.pk})]
