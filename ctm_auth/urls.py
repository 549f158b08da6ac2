from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import include, path
from django.views.generic import RedirectView


def _admin_login(request, extra_context=None):
    """Send the Django admin's sign-in to ours, so it has the second factor, the limits and the audit.

    A signed-in member who is not staff is refused here: sending them to our
    sign-in would bounce straight back (they are signed in), a redirect loop.
    """
    if request.user.is_authenticated:
        raise PermissionDenied
    return redirect_to_login(request.GET.get("next", "/admin/"))


admin.site.login = _admin_login

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="accounts:profile", permanent=False), name="home"),
    path("account/", include("accounts.urls")),
    path("mfa/", include("mfa.urls")),
    path("settings/", include("agencies.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language before signing in
    path("text-status/", include("mfa.sms.status_urls")),  # "Sending…" / "Sent" on the code pages
    path("dev/sms-outbox/", include("mfa.sms.dev_urls")),  # routes only when DEBUG (Dev SMS outbox)
]

handler400 = "ctm_auth.views.bad_request"
handler403 = "ctm_auth.views.permission_denied"
handler404 = "ctm_auth.views.page_not_found"
handler500 = "ctm_auth.views.server_error"
