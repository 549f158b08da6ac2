"""Every sensitive view sits behind step-up re-authentication: walk the whole URLconf.

A URL is sensitive when it lies under the ``mfa`` or ``agencies`` URL
namespace (at any depth), when it is named in SENSITIVE_URL_NAMES, or when
its view claims to be (``reauthentication_required = True``). For each one:

- statically, the view (or its view_class) carries the marker that
  ``@reauthentication_required`` and ``ReauthenticationRequiredMixin`` set;
- dynamically, a signed-in user who has not re-authenticated is sent to
  "Confirm it's you" by GET and by POST, before the view does anything else
  (a 404 for the dummy ids, or a 405, means the gate did not run first).

Later issues add URLs; this test covers them without being edited. It fails
when it finds no sensitive URL at all, so it cannot pass vacuously.
"""
import pytest
from django.http import Http404, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from accounts.reauth import ReauthenticationRequiredMixin, reauthentication_required
from tests.accounts.helpers import redirect_parts
from tests.conftest import add_fake_device, let_step_up_window_pass, sign_in
from tests.urlwalk import DUMMY_UUID, WalkedURL, resolvable, walk

SENSITIVE_NAMESPACES = frozenset({"mfa", "agencies"})
# Sensitive views outside those namespaces, by their full URL name.
SENSITIVE_URL_NAMES: frozenset[str] = frozenset()
# Must always be found: proves the walk reaches into the namespaces.
KNOWN_SENSITIVE = "mfa:default_method"


def has_reauth_marker(url: WalkedURL) -> bool:
    return bool(getattr(url.callback, "reauthentication_required", False)
                or getattr(url.view_class, "reauthentication_required", False))


def is_sensitive(url: WalkedURL) -> bool:
    return (bool(SENSITIVE_NAMESPACES.intersection(url.namespaces))
            or url.name in SENSITIVE_URL_NAMES
            or has_reauth_marker(url))


def sensitive_urls(urlconf=None) -> list[WalkedURL]:
    urls, problems = resolvable(walk(urlconf), urlconf)
    assert not problems, "The URL walk could not build a path for:\n" + "\n".join(problems)
    found = [url for url in urls if is_sensitive(url)]
    assert found, "No sensitive URL found: the walk or the namespaces are broken"
    return found


def unmarked(urls: list[WalkedURL]) -> list[str]:
    return [url.label() for url in urls if not has_reauth_marker(url)]


def ungated(client: Client, urls: list[WalkedURL]) -> list[str]:
    """Return the URLs a signed-in, not re-authenticated user reaches without the gate."""
    offenders = []
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url.path)
            try:
                target, query = redirect_parts(response)
            except AssertionError:
                target, query = None, {}
            if target != reverse("accounts:reauthenticate") or query.get("next") != [url.path]:
                offenders.append(f"{method.upper()} {url.label()}: {response.status_code} "
                                 f"{response.get('Location', '')}")
    return offenders


@pytest.fixture
def not_reauthenticated_client(db, user):
    """Signed in through both steps, the sign-in's window passed; a 500 is reported, not raised."""
    add_fake_device(user)
    client = Client(raise_request_exception=False)
    assert sign_in(client, user).status_code == 302
    let_step_up_window_pass()
    return client


def test_sensitive_url_walk_finds_mfa_urls():
    names = {url.name for url in sensitive_urls()}

    assert KNOWN_SENSITIVE in names


def test_sensitive_urls_require_reauthentication_statically():
    offenders = unmarked(sensitive_urls())

    assert not offenders, ("Sensitive views without @reauthentication_required / "
                           "ReauthenticationRequiredMixin:\n" + "\n".join(offenders))


@pytest.mark.django_db
def test_sensitive_urls_send_signed_in_user_to_reauthenticate(not_reauthenticated_client):
    offenders = ungated(not_reauthenticated_client, sensitive_urls())

    assert not offenders, "Sensitive URLs reachable without re-authentication:\n" + "\n".join(offenders)


# --- The checks above must catch a broken view: prove it on a small URLconf. ---

def _leaky_view(request, **kwargs):
    return HttpResponse("secret settings")


def _lookup_before_gate_view(request, item_id):
    raise Http404("looked the object up before checking re-authentication")


_lookup_before_gate_view.reauthentication_required = True  # claims the gate, runs it too late


@reauthentication_required
def _gated_view(request, token):
    return HttpResponse("fine")


class _PlainView:
    def dispatch(self, request, *args, **kwargs):
        return HttpResponse("fine")


class _GatedClassView(ReauthenticationRequiredMixin, _PlainView):
    pass


def _as_view(cls):
    def view(request, *args, **kwargs):
        return cls().dispatch(request, *args, **kwargs)
    view.view_class = cls
    return view


urlpatterns = [
    path("", lambda request: HttpResponse("home"), name="home"),
    path("account/", include("accounts.urls")),
    path("mfa/", include(([
        path("deep/", include(([
            path("leak/<slug:key>/", _leaky_view, name="leak"),
            path("item/<int:item_id>/", _lookup_before_gate_view, name="item"),
            path("ok/<uuid:token>/", _gated_view, name="ok"),
            path("class/", _as_view(_GatedClassView), name="class"),
        ], "deep"))),
    ], "mfa"))),
    path("elsewhere/<str:x>/", _gated_view, name="claims_sensitive"),
    path("public/", _leaky_view, name="public"),
]


@pytest.mark.django_db
def test_sensitive_url_checks_catch_ungated_and_late_gated_views(settings, user):
    settings.ROOT_URLCONF = __name__
    add_fake_device(user)
    client = Client(raise_request_exception=False)
    assert sign_in(client, user).status_code == 302
    let_step_up_window_pass()

    # The real accounts URLs included here may hold sensitive views of their
    # own (Active sessions, Trusted browsers); the walk of the real URLconf covers those.
    found = [url for url in sensitive_urls(__name__) if "accounts" not in url.namespaces]

    assert {url.name for url in found} == {
        "mfa:deep:leak", "mfa:deep:item", "mfa:deep:ok", "mfa:deep:class", "claims_sensitive"}
    assert next(url.path for url in found if url.name == "mfa:deep:ok") == f"/mfa/deep/ok/{DUMMY_UUID}/"
    assert [label.split(" ")[0] for label in unmarked(found)] == ["mfa:deep:leak"]
    offenders = ungated(client, found)
    assert sorted({line.split(" ")[1] for line in offenders}) == ["mfa:deep:item", "mfa:deep:leak"]
    assert all(" 404 " in line for line in offenders if "mfa:deep:item" in line)
