from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify_view, name="login_verify"),
    path("login/with/<slug:method_key>/", views.login_with_method_view, name="login_with_method"),
    path("login/with/<slug:method_key>/options/", views.login_with_method_options_view,
         name="login_with_method_options"),
    path("logout/", views.logout_view, name="logout"),
    path("reauthenticate/", views.reauthenticate_view, name="reauthenticate"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/preferences/", views.preferences_view, name="preferences"),
    path("sessions/<int:session_id>/sign-out/", views.session_sign_out_view, name="session_sign_out"),
    path("sessions/sign-out-others/", views.other_sessions_sign_out_view, name="other_sessions_sign_out"),
    path("trusted-browsers/<int:browser_id>/revoke/", views.trusted_browser_revoke_view,
         name="trusted_browser_revoke"),
    path("trusted-browsers/revoke-all/", views.trusted_browsers_revoke_all_view, name="trusted_browsers_revoke_all"),
    path("password/", views.password_change_view, name="password_change"),
    path("password/forgot/", views.password_reset_request_view, name="password_reset_request"),
    path("password/forgot/sent/", views.password_reset_sent_view, name="password_reset_sent"),
    path("password/reset/<uidb64>/<token>/", views.password_reset_link_view, name="password_reset_link"),
    path("password/reset/", views.password_reset_view, name="password_reset"),
    path("two-factor-required/", views.two_factor_required_view, name="two_factor_required"),
]
