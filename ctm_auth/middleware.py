"""Project-wide HTTP middleware."""
import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from ctm_auth.faults import unavailable_part

logger = logging.getLogger(__name__)


class ContentSecurityPolicyMiddleware:
    """Send settings.CSP_POLICY on every response; pages carry no inline script."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CSP_POLICY)
        return response


RETRY_AFTER_SECONDS = 30


def unavailable_response(request: HttpRequest, part: str) -> HttpResponse:
    """A plain 503 that says the service is briefly unavailable; never a traceback.

    Rendered without the request context: the database may be what is down.
    """
    retry_url = request.get_full_path() if request.method == "GET" else "/"
    body = render_to_string("errors/unavailable.html", {"retry_url": retry_url})
    response = HttpResponse(body, status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


class ServiceUnavailableMiddleware:
    """Answer 503 when a view finds the cache or the database down (see ctm_auth.faults)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        part = unavailable_part(exception)
        if not part:
            return None
        logger.error("%s unavailable during %s %s: %s", part, request.method, request.path, type(exception).__name__)
        return unavailable_response(request, part)


def current_unavailable_part() -> str:
    """Return the service whose failure is being handled right now (handler500 calls this)."""
    return unavailable_part(sys.exc_info()[1])
