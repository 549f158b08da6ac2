"""Included by mfa/urls.py under /mfa/sms/ with the namespace "mfa:sms"."""
from django.urls import path

from mfa.sms import views

urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("verify/", views.verify_view, name="verify"),
    path("change/", views.change_start_view, name="change_start"),
    path("change/new-number/", views.change_number_view, name="change_number"),
    path("cancel/", views.cancel_view, name="cancel"),
    path("disable/", views.disable_view, name="disable"),
]
