"""Routed at /text-status/ by ctm_auth/urls.py, outside /mfa/: step 2 polls it before sign-in.

No namespace: the partial sign-in and two-factor policy middlewares let
"sms_delivery_status" through by name.
"""
from django.urls import path

from mfa.sms import views

urlpatterns = [path("", views.delivery_status_view, name="sms_delivery_status")]
