from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="accounts:profile", permanent=False), name="home"),
    path("account/", include("accounts.urls")),
    path("mfa/", include("mfa.urls")),
    path("settings/", include("agencies.urls")),
    path("admin/", admin.site.urls),
    path("dev/sms-outbox/", include("mfa.sms.dev_urls")),  # routes only when DEBUG (Dev SMS outbox)
]

handler400 = "ctm_auth.views.bad_request"
handler403 = "ctm_auth.views.permission_denied"
handler404 = "ctm_auth.views.page_not_found"
handler500 = "ctm_auth.views.server_error"
