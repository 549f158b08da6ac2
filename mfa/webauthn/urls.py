"""Included by mfa/urls.py under /mfa/webauthn/ with the namespace "mfa:webauthn"."""
from django.urls import path

from mfa.webauthn import views

urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("add/", views.add_view, name="add"),
    path("<int:key_id>/rename/", views.rename_view, name="rename"),
    path("<int:key_id>/remove/", views.remove_view, name="remove"),
]
