from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

from benchmarks.peers.trivial import trivial_page

urlpatterns = [
    path("", include(two_factor_urls)),  # /account/login/ (the wizard), /account/two_factor/ (the profile)
    path("bench/trivial/", trivial_page),
]
