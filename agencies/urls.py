"""Agency Settings pages.

Two namespaces: "settings" for pages that only list (Manage Users, Edit,
Security Log, Plans), and "agencies" for sensitive administration, where every view
sits behind step-up re-authentication (tests/test_sensitive_urls.py checks).
"""
from django.urls import include, path

from agencies import access_pass_views, views

settings_patterns = ([
    path("<int:agency_id>/users/", views.manage_users_view, name="manage_users"),
    path("<int:agency_id>/users/<int:user_id>/", views.edit_user_view, name="edit_user"),
    path("<int:agency_id>/security-log/", views.security_log_view, name="security_log"),
    path("<int:agency_id>/plans/", views.plans_view, name="plans"),
], "settings")

admin_patterns = ([
    path("<int:agency_id>/users/<int:user_id>/methods/<slug:method_key>/", views.member_method_view,
         name="member_method"),
    path("<int:agency_id>/users/<int:user_id>/backup-codes/", views.member_backup_codes_view,
         name="member_backup_codes"),
    path("<int:agency_id>/users/<int:user_id>/backup-codes/view/", views.member_backup_codes_reveal_view,
         name="member_backup_codes_reveal"),
    path("<int:agency_id>/users/<int:user_id>/backup-codes/generate/", views.member_backup_codes_generate_view,
         name="member_backup_codes_generate"),
    path("<int:agency_id>/users/<int:user_id>/access-pass/", access_pass_views.member_access_pass_view,
         name="member_access_pass"),
    path("<int:agency_id>/users/<int:user_id>/access-pass/revoke/", access_pass_views.member_access_pass_revoke_view,
         name="member_access_pass_revoke"),
    path("<int:agency_id>/security/", views.security_policy_view, name="security_policy"),
], "agencies")

urlpatterns = [
    path("", include(settings_patterns)),
    path("", include(admin_patterns)),
]
