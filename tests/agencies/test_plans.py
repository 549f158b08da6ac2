"""Plans are data: the "require two-factor" capability is a column, never a plan name."""
import pytest

from agencies.flows import create_agency
from agencies.models import Agency, Plan
from agencies.plans import plan_allows_required_two_factor


@pytest.mark.django_db
def test_data_migration_creates_three_plans_with_their_capability():
    plans = dict(Plan.objects.values_list("code", "allows_required_two_factor"))

    assert plans == {"starter": False, "growth": True, "connect": True}
    assert dict(Plan.objects.values_list("code", "name")) == {
        "starter": "Starter", "growth": "Growth", "connect": "Connect",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("plan_code, allowed", [("starter", False), ("growth", True), ("connect", True)])
def test_plan_allows_required_two_factor_per_plan(make_user, plan_code, allowed):
    agency = create_agency(name=f"{plan_code} agency", plan_code=plan_code, owner=make_user())

    assert plan_allows_required_two_factor(agency) is allowed


@pytest.mark.django_db
def test_plan_allows_required_two_factor_follows_plan_row_change(acme, solo):
    """An operator flips the flag on a plan row: the answer changes, even for loaded agencies."""
    Plan.objects.filter(code="starter").update(allows_required_two_factor=True)
    Plan.objects.filter(code="growth").update(allows_required_two_factor=False)

    assert plan_allows_required_two_factor(solo.agency) is True
    assert plan_allows_required_two_factor(acme.agency) is False


@pytest.mark.django_db
def test_plan_allows_required_two_factor_new_plan_needs_no_code(make_user):
    """A plan added as a row, with a name the code has never seen, works by its capability."""
    enterprise = Plan.objects.create(code="enterprise", name="Enterprise", allows_required_two_factor=True)
    agency = create_agency(name="Big Agency", plan_code="enterprise", owner=make_user())

    assert plan_allows_required_two_factor(agency) is True
    enterprise.allows_required_two_factor = False
    enterprise.save()
    assert plan_allows_required_two_factor(agency) is False


@pytest.mark.django_db
def test_plan_allows_required_two_factor_follows_plan_change(solo):
    Agency.objects.filter(pk=solo.agency.pk).update(plan=Plan.objects.get(code="connect"))

    assert plan_allows_required_two_factor(solo.agency) is True
