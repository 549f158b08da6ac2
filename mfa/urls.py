"""/mfa/: every page here is sensitive and behind step-up re-authentication.

Each method's own URLconf is included under /mfa/<key>/ with the method key
as its namespace, so method views are named "mfa:<key>:<view>".
"""
from django.urls import include, path

from mfa import views
from mfa.registry import all_methods

app_name = "mfa"
urlpatterns = [
    path("default/", views.default_method_view, name="default_method"),
    *[
        path(f"{method.key}/", include((method.urls_module, method.key), namespace=method.key))
        for method in all_methods()
        if method.urls_module
    ],
]
