"""The user and the security audit log."""
import secrets

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


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

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    event_type = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events_as_actor",
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="audit_events",
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
        indexes = [
            models.Index(fields=["target_user", "-created_at"], name="audit_target_recent"),
            models.Index(fields=["agency", "-created_at"], name="audit_agency_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event_type}"
