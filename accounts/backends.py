"""Authentication by email address."""
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """ModelBackend keyed on email, compared case-insensitively.

    ModelBackend already runs the password hasher for unknown users, so an
    unknown email takes as long as a wrong password.
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        return super().authenticate(request, username=email or username, password=password, **kwargs)
