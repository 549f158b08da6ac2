from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify_view, name="login_verify"),
    path("logout/", views.logout_view, name="logout"),
    path("reauthenticate/", views.reauthenticate_view, name="reauthenticate"),
    path("profile/", views.profile_view, name="profile"),
    path("password/", views.password_change_view, name="password_change"),
    path("two-factor-required/", views.two_factor_required_view, name="two_factor_required"),
]
