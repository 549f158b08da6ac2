"""The user, the security audit log, the outbox and the per-account failure counts."""
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.encryption import EncryptedTextField


def new_session_stamp() -> str:
    return secrets.token_hex(16)


def normalize_email_address(email: str) -> str:
    """Return the canonical, lower-case form used for sign-in and uniqueness."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        # Email is the sign-in name and is compared case-insensitively.
        return self.get(email__iexact=normalize_email_address(email))

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=normalize_email_address(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The key of the MFA method step 2 offers first ("Choose which
    # authentication method to use"); blank means the first active one.
    preferred_mfa_method = models.CharField(max_length=32, blank=True, default="")
    # Part of every session's auth hash: changing it ends all of the user's
    # sessions at their next request (used by an administrator's reset).
    session_stamp = models.CharField(max_length=32, default=new_session_stamp, editable=False)
    # Profile preferences. Blank follows someone else: the browser's language
    # (Accept-Language), and the agency's time zone.
    language = models.CharField(_("language"), max_length=10, blank=True, default="")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email_address(self.email)

    def _get_session_auth_hash(self, secret=None) -> str:
        """Bind sessions to the password hash and to the session stamp."""
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(key_salt, f"{self.password}|{self.session_stamp}", secret=secret,
                           algorithm="sha256").hexdigest()

    def end_all_sessions(self) -> None:
        """Invalidate every session of this user (they are flushed on next use)."""
        self.session_stamp = new_session_stamp()
        self.save(update_fields=["session_stamp"])

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name or self.email


class AuditEvent(models.Model):
    """One security event. Written only through accounts.audit.record()."""

    created_at = models.DateTimeField(default=timezone.now)
    event_type = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events_as_actor", db_index=False,  # audit_actor_recent leads with it
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events", db_index=False,  # audit_target_recent leads with it
    )
    agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events", db_index=False,  # audit_agency_recent leads with it
    )
    # What the actor typed as their email at a failed sign-in: lets the owner
    # of an account see attempts against it even when no user matched.
    attempted_email = models.CharField(max_length=254, blank=True, default="")
    method = models.CharField(max_length=32, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Each filter of the Security Log (and the Profile's activity) reads
        # one of these in the page's order, (created_at, id), so a page is an
        # index range from its cursor, not a sort of the agency's whole log.
        # The foreign keys' own indexes are these indexes' leading columns.
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_recent"),
            models.Index(fields=["agency", "created_at", "id"], name="audit_agency_recent"),
            models.Index(fields=["target_user", "created_at", "id"], name="audit_target_recent"),
            models.Index(fields=["actor", "created_at", "id"], name="audit_actor_recent"),
            models.Index(fields=["event_type", "created_at", "id"], name="audit_type_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event_type}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for a worker: the first try or a retry
    SENDING = "sending", _("Sending")  # claimed by one worker until lease_until
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # a permanent refusal (invalid number, recipient refused)
    DEAD = "dead", _("Dead")  # gave up: the deadline passed or the tries ran out
    DROPPED = "dropped", _("Dropped")  # no longer wanted: user deleted, number changed, sign-in cancelled


class Delivery(models.Model):
    """One email or text in the outbox. Written only through accounts.delivery.enqueue().

    The row is written in the transaction of the change that causes it, so
    the message exists exactly when the change does. ``payload`` (subject and
    body, or a text with its code) is encrypted at rest and wiped once the row
    is final: a database dump shows no queued code.
    """

    FINAL_STATES = (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.DEAD, DeliveryState.DROPPED)

    created_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=16)
    # What the message is about, for the operators' list and the audit log:
    # an email's template ("mfa/totp/email/enabled") or a text's step ("sms:sign_in").
    kind = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="deliveries")
    # True when the row was written for a user: a row whose user has since
    # been deleted (user is now NULL) is dropped, never sent.
    for_user = models.BooleanField(default=True)
    to = models.CharField(max_length=254)
    payload = EncryptedTextField(blank=True, default="")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    deadline = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=64, blank=True, default="")
    # Safe facts about the last failure (an SMTP or Twilio code); never the body.
    last_error_detail = models.JSONField(default=dict, blank=True)
    reference = models.CharField(max_length=100, blank=True, default="")  # Twilio's SID, ...

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} #{self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class FailureCount(models.Model):
    """Failed attempts of one kind against one account, in one fixed window.

    Per-account budgets (sign-in, step-up, password change) are kept in the
    database beside the accounts they protect, as django-otp keeps its
    throttle on the device row: a Redis restart must not wipe a lock-out.
    ``key_digest`` is a hash, so the table holds no typed email address.
    """

    scope = models.CharField(max_length=32)
    key_digest = models.CharField(max_length=64)
    window_start = models.BigIntegerField()  # the fixed window's number (timestamp // window)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key_digest", "window_start"], name="failure_count_one_per_window"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.count} in window {self.window_start}"


class TrustedBrowser(models.Model):
    """A browser whose owner ticked "Don't ask for a code on this browser for 30 days".

    The cookie holds a random token; only its SHA-256 is stored, so a
    database dump cannot be replayed as a cookie. ``fingerprint`` binds the
    trust to the user's password, session stamp and active methods: when any
    of them changes, the row no longer matches and the trust is gone.
    It skips only sign-in step 2, never the password.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_browsers")
    token_hash = models.CharField(max_length=64, unique=True)
    fingerprint = models.CharField(max_length=64)
    label = models.CharField(max_length=100)  # "Chrome on macOS", from the User-Agent
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True, default="")  # "user", "password_reset", ...

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="trusted_browser_user_recent")]

    def __str__(self) -> str:
        return f"{self.label} for {self.user_id}"


class UserSession(models.Model):
    """One signed-in session, for the Profile's "Active sessions" (Django's session rows cannot be listed by user).

    Written at sign-in, its activity time refreshed with the session's, and
    deleted when the session ends (sign-out, revocation, expiry).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    method = models.CharField(max_length=32, blank=True, default="")  # how the second step was passed
    signed_in_at = models.DateTimeField()
    last_active_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_active_at", "-id"]
        indexes = [models.Index(fields=["user", "-last_active_at"], name="user_session_recent")]

    def __str__(self) -> str:
        return f"session of {self.user_id} since {self.signed_in_at:%Y-%m-%d %H:%M}"
