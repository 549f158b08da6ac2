from django.urls import path

from benchmarks.peers.profile_core import profile_core_page
from benchmarks.peers.trivial import trivial_page
from ctm_auth.urls import *  # noqa: F403 - handler400..500 too
from ctm_auth.urls import urlpatterns as ctm_urlpatterns

urlpatterns = [*ctm_urlpatterns, path("bench/trivial/", trivial_page),
               path("bench/profile-core/", profile_core_page)]
