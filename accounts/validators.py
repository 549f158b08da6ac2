"""Password rules beyond Django's own validators."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class MaximumLengthValidator:
    """Refuse passwords above a generous cap, so hashing stays bounded.

    NIST SP 800-63B asks that at least 64 characters be allowed; we allow 256.
    """

    def __init__(self, max_length: int = 256):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                ngettext(
                    "This password is too long. It must contain at most %(max_length)d character.",
                    "This password is too long. It must contain at most %(max_length)d characters.",
                    self.max_length,
                ),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return _("Your password can be up to %(max_length)d characters long.") % {
            "max_length": self.max_length
        }
