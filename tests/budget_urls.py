"""The product's URLs plus one trivial signed-in page, to count what our middleware alone costs."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def trivial_view(request):
    return HttpResponse(f"Hello, {request.user.name}")


urlpatterns = [
    path("budget/trivial/", trivial_view, name="budget_trivial"),
    path("", include("ctm_auth.urls")),
]
