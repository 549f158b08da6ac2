"""Our Profile with only what the peers' pages show, at /bench/profile-core/: a measuring stick, not a page.

two-factor-auth's /account/two_factor/ and allauth's /accounts/2fa/ show the
account's second factors. Our Profile shows those too (the account form and
the Multi-Factor Methods table), and four sections issue 10 put beside them:
Preferences, Active sessions, Trusted browsers and Recent sign-in activity.
This page is accounts/profile.html without those four, built from the same
view code, form, selector and includes, so `make bench` can say how much of
the Profile's cost is those sections and how the rest compares with the peers.
"""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.views.decorators.cache import never_cache

from accounts.forms import ProfileForm
from accounts.selectors import profile_methods

# As accounts/profile.html, down to the end of its Multi-Factor Methods section.
PROFILE_CORE = engines["django"].from_string("""{% extends "base.html" %}
{% load i18n breadcrumbs %}
{% block title %}{% translate "Profile" %}{% endblock %}
{% block content %}
{% url 'accounts:profile' as profile_url %}{% breadcrumbs _("Account Details") profile_url _("Profile") profile_url %}
<section class="card">
  <h1>{% translate "Profile" %}</h1>
  <form method="post" novalidate class="inline-form">
    {% csrf_token %}
    {% include "accounts/_form_errors.html" %}
    {% include "accounts/_field.html" with field=form.name %}
    <div class="field"><span class="label">{% translate "Email" %}</span> <span id="profile-email">{{ user.email }}</span></div>
    <button type="submit">{% translate "Save" %}</button>
  </form>
  <p><a href="{% url 'accounts:password_change' %}">{% translate "Change password" %}</a></p>
</section>

<section class="card" id="multi-factor-methods">
  <h2>{% translate "Multi-Factor Methods" %}</h2>
  {% include "mfa/_methods_table.html" with methods=methods %}
  <p><a href="{% url 'mfa:default_method' %}">{% translate "Choose which authentication method to use" %}</a></p>
</section>
{% endblock %}""")


@login_required
@never_cache
def profile_core_page(request):
    context = {"form": ProfileForm(instance=request.user), "methods": profile_methods(request.user)}
    return HttpResponse(PROFILE_CORE.render(context, request))
