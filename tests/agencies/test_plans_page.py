"""Settings > Plans: every plan row and whether it lets the Owner require two-factor (owners and admins only)."""
import re
from html import unescape

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from agencies.models import Plan
from tests.agencies.policy_helpers import owner_client
from tests.conftest import add_fake_device, sign_in

pytestmark = pytest.mark.django_db


def plans_url(agency) -> str:
    return reverse("settings:plans", args=[agency.pk])


def plan_rows(html: str) -> dict[str, str]:
    """Each plan's row as read: "Growth (your plan) | Included"."""
    rows = re.findall(r'<tr class="plan-row" data-plan="[^"]*">(.*?)</tr>', html, re.S)
    cells = [[" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
              for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]
    return {name: verdict for name, verdict in cells}


@pytest.mark.parametrize("member", ["owner", "admin"])
def test_plans_page_lists_every_plan_and_which_allow_required_two_factor(acme, member):
    client = Client()
    add_fake_device(getattr(acme, member))
    sign_in(client, getattr(acme, member))

    response = client.get(plans_url(acme.agency))

    assert response.status_code == 200
    assert plan_rows(response.content.decode()) == {
        "Starter": "Not included", "Growth (your plan)": "Included", "Connect": "Included"}


def test_plans_page_shows_a_plan_added_as_a_row(acme):
    Plan.objects.create(code="enterprise", name="Enterprise", allows_required_two_factor=True)
    client = Client()
    add_fake_device(acme.owner)
    sign_in(client, acme.owner)

    assert plan_rows(client.get(plans_url(acme.agency)).content.decode())["Enterprise"] == "Included"


@override_settings(DEBUG=False)
@pytest.mark.parametrize("member", ["alice", "bob"])
def test_plans_page_is_not_found_for_a_plain_user(acme, member):
    client = Client()
    sign_in(client, getattr(acme, member))

    assert client.get(plans_url(acme.agency)).status_code == 404


@override_settings(DEBUG=False)
def test_plans_page_of_another_agency_is_not_found(acme, solo):
    client = Client()
    add_fake_device(acme.owner)
    sign_in(client, acme.owner)

    assert client.get(plans_url(solo.agency)).status_code == 404


def test_starter_plan_note_on_security_links_to_the_plans(solo):
    client = owner_client(solo.owner)

    html = client.get(reverse("agencies:security_policy", args=[solo.agency.pk])).content.decode()

    note = re.search(r'<p class="plan-note">(.*?)</p>', html, re.S)[1]
    assert "Your agency is on the Starter plan." in note
    assert f'<a href="{plans_url(solo.agency)}">Compare the plans</a>' in note
    assert plan_rows(client.get(plans_url(solo.agency)).content.decode())["Starter (your plan)"] == "Not included"
