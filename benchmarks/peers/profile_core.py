"""Our Profile with only what the peers' pages show, at /bench/profile-core/: a measuring stick, not a page.

two-factor-auth's /account/two_factor/ and allauth's /accounts/2fa/ show the
account's second factors. Our Profile shows those too (the account form and
the Multi-Factor Methods table), and four sections issue 10 put beside them:
Preferences, Active sessions, Trusted browsers and Recent sign-in activity.
This page is accounts/profile.html itself with those four cut out, fed by the
same form and selector, so `make bench` can say how much of the Profile's
cost is those sections and how the rest compares with the peers.
"""
import functools

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.views.decorators.cache import never_cache

from accounts.forms import ProfileForm
from accounts.selectors import profile_methods

# Each section left out: where it starts in accounts/profile.html, and where it ends ("" for a one-line include).
SECTIONS_THE_PEERS_LACK = (
    ('<section class="card" id="preferences">', "</section>"),
    ('{% include "accounts/_active_sessions.html" %}', ""),
    ('{% include "accounts/_trusted_browsers.html" %}', ""),
    ('<section class="card" id="sign-in-activity">', "</section>"),
)


@functools.cache
def profile_core_template():
    engine = engines["django"]
    source = engine.engine.get_template("accounts/profile.html").source
    for start, end in SECTIONS_THE_PEERS_LACK:
        # A ValueError here means the Profile's template changed: update the list above.
        begins = source.index(start)
        ends = source.index(end, begins) + len(end) if end else begins + len(start)
        source = source[:begins] + source[ends:]
    return engine.from_string(source)


@login_required
@never_cache
def profile_core_page(request):
    context = {"form": ProfileForm(instance=request.user), "methods": profile_methods(request.user)}
    return HttpResponse(profile_core_template().render(context, request))
