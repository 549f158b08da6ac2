"""Project-level error pages: clear words, never a stack trace."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Explain a missing or stale CSRF token instead of Django's debug page."""
    return render(
        request,
        "errors/error.html",
        {
            "title": _("Your form expired"),
            "message": _(
                "This form could not be verified (its security token was missing or "
                "out of date). Go back, reload the page and try again."
            ),
        },
        status=403,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/error.html",
                  {"title": _("Bad request"), "message": _("The request could not be understood.")},
                  status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/error.html",
                  {"title": _("Not allowed"), "message": _("You do not have permission to do that.")},
                  status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/error.html",
                  {"title": _("Page not found"), "message": _("There is nothing here.")},
                  status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page; a middleware that found the cache or the database down gets the 503 instead."""
    from ctm_auth.middleware import current_unavailable_part, unavailable_response

    part = current_unavailable_part()
    if part:
        return unavailable_response(request, part)
    return render(request, "errors/error.html",
                  {"title": _("Something went wrong"),
                   "message": _("We could not complete that request. Please try again.")},
                  status=500)
