"""Backup Codes pages, included by mfa.urls under /mfa/backup_codes/ as "mfa:backup_codes:<name>"."""
from django.urls import path

from mfa.backup_codes import views

urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("generate/", views.generate_view, name="generate"),
    path("new/", views.new_codes_view, name="new"),
    path("view/", views.view_codes_view, name="view"),
    path("download/", views.download_view, name="download"),
    path("regenerate/", views.regenerate_view, name="regenerate"),
]
