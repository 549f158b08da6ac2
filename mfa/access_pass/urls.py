"""Included by mfa.urls under /mfa/access_pass/ as "mfa:access_pass:<name>"."""
from django.urls import path

from mfa.access_pass import views

urlpatterns = [
    path("set-up/", views.set_up_view, name="set_up"),
]
