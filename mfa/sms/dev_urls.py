"""Routed at /dev/sms-outbox/ by ctm_auth/urls.py; empty unless DEBUG is on."""
from django.conf import settings
from django.urls import path

from mfa.sms import dev

# No namespace: agencies' policy middleware lets "sms_outbox" through by name.
urlpatterns = [path("", dev.outbox_view, name="sms_outbox")] if settings.DEBUG else []
