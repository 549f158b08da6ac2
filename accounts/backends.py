"""Authentication by email address."""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from mfa.registry import load_user_with_states

#: ``authenticate(known_user=...)`` was not given: look the user up by email.
_LOOK_UP = object()


class EmailBackend(ModelBackend):
    """ModelBackend keyed on email, compared case-insensitively.

    ModelBackend already runs the password hasher for unknown users, so an
    unknown email takes as long as a wrong password.
    """

    def authenticate(self, request, username=None, password=None, email=None, known_user=_LOOK_UP, **kwargs):
        """As ModelBackend; ``known_user`` is the user the caller already looked up by this email (or None).

        The sign-in step looks the account up once for its rate limits; passing
        it here saves the second lookup. An unknown email still pays the hasher.
        """
        if known_user is _LOOK_UP:
            return super().authenticate(request, username=email or username, password=password, **kwargs)
        if password is None:
            return None
        if known_user is None:
            get_user_model()().set_password(password)  # as ModelBackend: the same time as a wrong password
            return None
        if known_user.check_password(password) and self.user_can_authenticate(known_user):
            return known_user
        return None

    def get_user(self, user_id):
        """The signed-in user of a request, with every MFA method's state (one query for both)."""
        user = load_user_with_states(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
