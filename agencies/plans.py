"""What an agency's plan includes. Plans are rows: ask for a capability, never a plan name."""
from django.db.models import QuerySet

from agencies.models import Agency, Plan


def plan_allows_required_two_factor(agency: Agency) -> bool:
    """Return True when the agency's plan lets its Owner require two-factor for every user.

    Read from the database on each call rather than from ``agency.plan``, so a
    plan row changed by an operator, or an agency moved to another plan,
    counts at once, even for an Agency instance loaded earlier.
    """
    return Agency.objects.filter(pk=agency.pk, plan__allows_required_two_factor=True).exists()


def all_plans() -> QuerySet[Plan]:
    """Return every plan, in the order they were created (Starter, Growth, Connect), for Settings > Plans."""
    return Plan.objects.order_by("pk")
