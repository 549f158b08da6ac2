"""End sessions after idle time and after an absolute lifetime."""
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from accounts import sessions
from accounts.app_settings import app_settings
from accounts.signin import AUTH_STARTED_SESSION_KEY, LAST_ACTIVITY_SESSION_KEY
from ctm_auth import clock

# Writing the session on every request costs a database write; refreshing the
# activity time once a minute is precise enough for a 30-minute idle timeout.
ACTIVITY_WRITE_INTERVAL = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and self._expired(request):
            logout(request)
            return self._expired_response(request)
        return self.get_response(request)

    @staticmethod
    def _expired_response(request: HttpRequest) -> HttpResponse:
        """Send the user to sign in, with a notice saying why.

        This middleware must follow AuthenticationMiddleware and so may run
        before MessageMiddleware, which then never sees this request: store
        the notice ourselves rather than fail with MessageFailure (a 500).
        """
        outer_storage = getattr(request, "_messages", None)
        storage = outer_storage or default_storage(request)
        storage.add(messages.INFO, _("Your session has expired. Please sign in again."))
        response = redirect_to_login(request.get_full_path())
        if outer_storage is None:
            storage.update(response)
        return response

    @staticmethod
    def _expired(request: HttpRequest) -> bool:
        session, now = request.session, clock.timestamp()
        started = session.get(AUTH_STARTED_SESSION_KEY)
        last_seen = session.get(LAST_ACTIVITY_SESSION_KEY)
        if started is None or last_seen is None:
            # A session signed in by something other than our flows (a test
            # client's force_login, say) starts its clocks now.
            session[AUTH_STARTED_SESSION_KEY] = session.get(AUTH_STARTED_SESSION_KEY, now)
            session[LAST_ACTIVITY_SESSION_KEY] = now
            sessions.record_activity(request, now)
            return False
        if now - started > app_settings.SESSION_MAX_AGE or now - last_seen > app_settings.SESSION_IDLE_TIMEOUT:
            return True
        if now - last_seen > ACTIVITY_WRITE_INTERVAL:
            session[LAST_ACTIVITY_SESSION_KEY] = now
            sessions.record_activity(request, now)  # the Active sessions list's "last active"
        return False
