"""The trivial signed-in page every site serves at /bench/trivial/: the floor of a signed-in request."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def trivial_page(request):
    return HttpResponse("ok", content_type="text/plain")
