"""End sessions after idle time and after an absolute lifetime; read pages in the user's language and zone."""
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import preferences, sessions
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


class PreferencesMiddleware:
    """Activate the signed-in user's language (when they chose one) and time zone for the request.

    After AuthenticationMiddleware, and after LocaleMiddleware, whose choice
    (the language cookie, else the browser's) it overrides. Costs nothing
    beyond the user row already loaded, except for a user who follows their
    agency's zone: one cache read (agencies.preferences). The language cookie
    is set to the user's choice, so pages after signing out keep it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            timezone.deactivate()
            return self.get_response(request)
        timezone.activate(preferences.time_zone_for(user))
        language = user.language if preferences.is_language(user.language) else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            set_language_cookie(response, language)
        return response


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """Remember ``language`` in the browser as Django's set_language view does ("" forgets it)."""
    if not language:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH,
                               domain=settings.LANGUAGE_COOKIE_DOMAIN, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
