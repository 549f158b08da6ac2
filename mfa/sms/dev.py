"""The "Dev SMS outbox": texts kept by the outbox gateway, readable in the browser.

DEBUG only. It is reachable during a half-finished sign-in, because that is
exactly when a developer needs the code it shows.
"""
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mfa.sms.models import OutboxMessage

OUTBOX_PAGE_SIZE = 50


@never_cache
@require_GET
def outbox_view(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG:  # the URL is only routed under DEBUG; this is the second lock
        raise Http404
    return render(request, "mfa/sms/dev_outbox.html", {
        "texts": OutboxMessage.objects.all()[:OUTBOX_PAGE_SIZE],
    })


outbox_view.allowed_during_partial_sign_in = True
