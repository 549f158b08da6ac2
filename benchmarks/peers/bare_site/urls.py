from django.contrib.auth import views as auth_views
from django.urls import path

from benchmarks.peers.trivial import trivial_page

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="bare_site/login.html"), name="login"),
    path("bench/trivial/", trivial_page),
]
