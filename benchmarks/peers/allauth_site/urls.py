from django.urls import include, path

from benchmarks.peers.trivial import trivial_page

urlpatterns = [
    path("accounts/", include("allauth.urls")),  # /accounts/login/, /accounts/2fa/authenticate/, /accounts/2fa/
    path("bench/trivial/", trivial_page),
]
