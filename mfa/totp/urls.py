"""Included by mfa/urls.py under /mfa/totp/ with the namespace "mfa:totp"."""
from django.urls import path

from mfa.totp import views

urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("start/", views.start_view, name="start"),
    path("setup/", views.setup_view, name="setup"),
    path("setup/cancel/", views.cancel_view, name="cancel"),
    path("disable/", views.disable_view, name="disable"),
]
