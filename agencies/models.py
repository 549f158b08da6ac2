"""Tenants: agencies (parent accounts), their plans, subaccounts and members."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MAX_GRACE_DAYS = 30
# Settings > Parent Settings > Security: the bounds an Owner may choose within.
TRUSTED_BROWSER_DAYS_RANGE = (1, 30)
STEP_UP_MINUTES_RANGE = (5, 60)
DEFAULT_STEP_UP_MINUTES = 10


class Plan(models.Model):
    """A billing plan. Features are capabilities on the row, never plan names in code."""

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=64)
    allows_required_two_factor = models.BooleanField(
        default=False,
        help_text=_("Owners on this plan may require two-factor for every user."),
    )

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    """A parent account."""

    name = models.CharField(max_length=150)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="agencies")
    created_at = models.DateTimeField(auto_now_add=True)
    # Where the agency works: the country its members' phone numbers are read
    # in when typed without a country code (ISO 3166 alpha-2), and the time
    # zone its members see dates in until they choose their own.
    country = models.CharField(max_length=2, default="US")
    time_zone = models.CharField(max_length=64, default="UTC")
    # Settings > Parent Settings > Security. Enforced only while the plan
    # allows it; the deadline is when set-up stops being optional.
    require_two_factor = models.BooleanField(default=False)
    two_factor_grace_days = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(MAX_GRACE_DAYS)]
    )
    two_factor_required_since = models.DateTimeField(null=True, blank=True)
    two_factor_deadline = models.DateTimeField(null=True, blank=True)
    # While two-factor is required: which primary methods count (method keys;
    # empty means every enabled method), and whether backup codes stay
    # available as recovery.
    allowed_methods = models.JSONField(
        default=list, blank=True,
        help_text=_("Keys of the primary methods members may use while two-factor is required; empty: any."),
    )
    allow_backup_codes = models.BooleanField(default=True)
    # Whatever the requirement: "Remember this browser" and the step-up window.
    allow_trusted_browsers = models.BooleanField(default=True)
    trusted_browser_days = models.PositiveSmallIntegerField(
        default=TRUSTED_BROWSER_DAYS_RANGE[1],
        validators=[MinValueValidator(TRUSTED_BROWSER_DAYS_RANGE[0]), MaxValueValidator(TRUSTED_BROWSER_DAYS_RANGE[1])],
    )
    step_up_minutes = models.PositiveSmallIntegerField(
        default=DEFAULT_STEP_UP_MINUTES,
        validators=[MinValueValidator(STEP_UP_MINUTES_RANGE[0]), MaxValueValidator(STEP_UP_MINUTES_RANGE[1])],
    )

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class SubAccount(models.Model):
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="subaccounts")
    name = models.CharField(max_length=150)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="subaccount_name_unique")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Agency Administrator")
    USER = "user", _("User")


class Membership(models.Model):
    """A user's role in one agency, and the subaccounts they can reach."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    subaccounts = models.ManyToManyField(SubAccount, blank=True, related_name="memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="membership_user_agency_unique"),
            models.UniqueConstraint(fields=["agency"], condition=Q(role="owner"), name="agency_single_owner"),
        ]
        indexes = [
            models.Index(fields=["agency", "role"], name="membership_agency_role"),
            models.Index(fields=["agency", "user"], name="membership_agency_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.agency} ({self.get_role_display()})"


class PolicyReminder(models.Model):
    """One grace-period reminder emailed to a member, so no reminder goes out twice.

    The row is written before the email (in the same transaction) and the
    unique constraint refuses a second one for the same agency, member,
    deadline and days-before: two beat runs, or two workers, send once. A new
    deadline (the Owner changed the grace period) starts a new series.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="policy_reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_reminders")
    deadline = models.DateTimeField()
    days_before = models.PositiveSmallIntegerField()
    #: The run that wrote the row: a run sends only the reminders it inserted.
    run = models.UUIDField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "user", "deadline", "days_before"],
                                    name="policy_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} reminded {self.days_before} days before {self.deadline:%Y-%m-%d} ({self.agency})"
