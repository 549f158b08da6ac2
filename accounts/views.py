"""Sign-in, sign-out, re-authentication and the Profile. Views parse, call a flow, render."""
import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit, flows, password_reset, preferences, reauth, sessions, signin, trusted_browsers
from accounts.app_settings import app_settings
from accounts.forms import (
    PasswordChangeForm,
    PasswordResetRequestForm,
    PreferencesForm,
    ProfileForm,
    ReauthenticationForm,
    ReauthenticationWithCodeForm,
    ResetPasswordForm,
    SignInCodeForm,
    SignInForm,
)
from accounts.middleware import set_language_cookie
from accounts.models import User
from accounts.ratelimit import DatabaseLimit
from accounts.selectors import profile_methods, recent_sign_in_activity, recommended_set_up
from mfa import policy as mfa_policy
from mfa.challenge import choose_method, refused_method_message
from mfa.registry import get_method, methods_signing_in_without_user


def safe_next_url(request: HttpRequest, default: str = "") -> str:
    """Return ?next= (or the posted next) only when it points at this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    # Only a path on this site: redirect() would read a bare word ("profile")
    # as a URL pattern name and fail with NoReverseMatch, a 500.
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default or resolve_url(settings.LOGIN_REDIRECT_URL)


def bound_data(request: HttpRequest):
    """Return the POST data to bind a form to, even when it is empty.

    ``request.POST or None`` leaves a form unbound for an empty POST body, so
    the user would see the page again with no error saying what is missing.
    """
    return request.POST if request.method == "POST" else None


def too_many_attempts_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "Too many attempts. Try again in %(minutes)d minute.",
        "Too many attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next_url(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    key_user = signin.key_proven_user(request)  # a passkey answered without a PIN: the password finishes
    form = SignInForm(bound_data(request), initial={"email": key_user.email} if key_user else None)
    warning, offer_reset = "", False
    if request.method == "POST" and form.is_valid():
        outcome = signin.check_password_step(
            request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        if outcome.retry_after:
            form.add_error(None, too_many_attempts_message(outcome.retry_after))
            offer_reset = True  # the way back in during a lock-out is a reset by email
        elif outcome.user is None:
            form.add_error(None, _("Incorrect email or password."))
            warning = attempts_left_message(outcome.attempts_left)
            offer_reset = outcome.attempts_left == 0
        elif proven := signin.take_proven_key(request, outcome.user):
            device, method_key = proven
            signin.complete_sign_in(request, outcome.user, device=device, method_key=method_key)
            return _signed_in_response(next_url, outcome.user)
        elif signin.needs_second_step(outcome.user):
            if not trusted_browsers.sign_in_if_trusted(request, outcome.user):  # skips step 2, never the password
                signin.start_second_step(request, outcome.user, next_url=next_url)
                return redirect("accounts:login_verify")
            return _signed_in_response(next_url, outcome.user)
        else:
            signin.complete_sign_in(request, outcome.user)
            return _signed_in_response(next_url, outcome.user)
    return _sign_in_page(request, form, next_url=next_url, key_user=key_user,
                         attempts_warning=warning, offer_reset=offer_reset)


def _sign_in_page(request: HttpRequest, form: SignInForm, *, next_url: str, key_user=None, status: int = 200,
                  **context) -> HttpResponse:
    """The sign-in page, with each method that can sign in alone (a passkey) offered below the password.

    The page stays a plain form: a method's script fetches its options
    (a challenge, kept in a session) only when the browser can use them.
    """
    offers = [] if key_user else [
        {"template_name": method.sign_in_template_name,
         "options_url": reverse("accounts:login_with_method_options", args=[method.key]),
         "answer_url": reverse("accounts:login_with_method", args=[method.key])}
        for method in methods_signing_in_without_user()
    ]
    return render(request, "accounts/login.html", {
        "form": form, "next": next_url, "key_user": key_user, "sign_in_offers": offers, **context,
    }, status=status)


def _method_signing_in_alone_or_404(method_key: str):
    method = get_method(method_key)
    if method is None or not method.signs_in_without_user:
        raise Http404
    return method


@csrf_protect
@never_cache
@require_POST
def login_with_method_options_view(request: HttpRequest, method_key: str) -> HttpResponse:
    """The options a method's script needs to sign in with it alone (a passkey's challenge), as JSON.

    A POST: it writes the challenge into the session, so it is CSRF-checked.
    """
    method = _method_signing_in_alone_or_404(method_key)
    return JsonResponse(method.sign_in_options(request))


@sensitive_post_parameters("answer")
@csrf_protect
@never_cache
@require_POST
def login_with_method_view(request: HttpRequest, method_key: str) -> HttpResponse:
    """Sign in with a method alone, no email typed: "Sign in with a passkey" and the passkey autofill."""
    method = _method_signing_in_alone_or_404(method_key)
    next_url = safe_next_url(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    outcome = signin.sign_in_without_user(request, method, answer=request.POST.get("answer", ""))
    if outcome.user is not None and outcome.both_factors:
        signin.cancel_pending(request)  # a half-done password sign-in in this browser ends here
        signin.complete_sign_in(request, outcome.user, device=outcome.device, method_key=method.key)
        return _signed_in_response(next_url, outcome.user)
    if outcome.user is not None:
        signin.remember_key_proven(request, outcome.user, outcome.device, method_key=method.key, next_url=next_url)
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")
    # The password form stays unbound and clean: what was refused was the passkey, said above it.
    refusal = too_many_attempts_message(outcome.retry_after) if outcome.retry_after else outcome.message
    return _sign_in_page(request, SignInForm(), next_url=next_url, status=400, sign_in_error=refusal)


def _signed_in_response(next_url: str, user) -> HttpResponse:
    """Go on to ``next_url``, marking this browser as one ``user`` signs in from (its own failure budget)."""
    response = redirect(next_url)
    signin.remember_device(response, user)
    return response


def attempts_left_message(attempts_left: int | None) -> str:
    """Warn before a lock-out: "2 attempts left before a 15-minute pause" ("" while more are left)."""
    if attempts_left is None or attempts_left > app_settings.LOGIN_WARNING_ATTEMPTS_LEFT:
        return ""
    minutes = max(1, math.ceil(app_settings.LOGIN_FAILURES_PER_ACCOUNT[1] / 60))
    if attempts_left == 0:
        return ngettext(
            "That was the last attempt: sign-in is now paused for up to %(minutes)d minute.",
            "That was the last attempt: sign-in is now paused for up to %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    return ngettext(
        "%(count)d attempt left before a %(minutes)d-minute pause.",
        "%(count)d attempts left before a %(minutes)d-minute pause.",
        attempts_left,
    ) % {"count": attempts_left, "minutes": minutes}


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify_view(request: HttpRequest) -> HttpResponse:
    """Sign-in step 2: the second factor."""
    user = signin.pending_user(request)
    if user is None:
        if request.user.is_authenticated:
            # A double-submitted code: the first submission signed the user
            # in, so "Sign-in expired" would be wrong here.
            return redirect(settings.LOGIN_REDIRECT_URL)
        if request.method == "POST":
            return render(request, "accounts/signin_expired.html", status=400)
        return redirect("accounts:login")
    method, methods = choose_method(user, request.POST.get("method") or request.GET.get("method"))
    if method is None:  # the user's methods were removed (or refused by a new policy) mid-sign-in
        signin.cancel_pending(request)
        return render(request, "accounts/signin_expired.html", status=400)
    # A posted method the agency refuses: its answer is never checked, nor a code sent.
    refusal = refused_method_message(user, request.POST.get("method")) if request.method == "POST" else ""
    resend = request.method == "POST" and "resend" in request.POST and method.can_resend and not refusal
    form = SignInCodeForm(None if resend else bound_data(request), trust_days=trusted_browsers.trust_days(user),
                          # "Resend code" posts the whole form: keep the box as the person left it.
                          initial={"remember_browser": resend and bool(request.POST.get("remember_browser"))})
    form.fit_to(method)
    if refusal:
        form.is_valid()
        form.add_error(None, _("%(refusal)s Use %(method)s.") % {"refusal": refusal, "method": method.label})
        signin.record_second_step_failure(request, user, method_key=request.POST["method"][:32],
                                          error="method_not_allowed", data={})
    elif request.method == "POST" and not resend and form.is_valid():
        result = method.verify(request, user, form.cleaned_data["code"], purpose="sign_in")
        if result.ok:
            next_url = signin.pending_next_url(request) or resolve_url(settings.LOGIN_REDIRECT_URL)
            signin.complete_sign_in(request, user, device=result.device, method_key=method.key)
            response = _signed_in_response(next_url, user)
            if form.cleaned_data.get("remember_browser"):
                trusted_browsers.trust_browser(request, response, user=user)
            return response
        signin.record_second_step_failure(request, user, method_key=method.key, error=result.error,
                                          data={"retry_after": result.retry_after, **result.extra})
        form.add_error("code", result.message)
    challenge = method.begin_challenge(request, user, purpose="sign_in", resend=resend)
    return render(request, "accounts/login_verify.html", {
        "form": form, "method": method, "challenge": challenge,
        "alternatives": [m for m in methods if m.key != method.key],
    }, status=400 if refusal else 200)


@csrf_protect
@never_cache
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out on POST (a GET only shows the button, so links cannot sign you out)."""
    if request.method != "POST":
        return render(request, "accounts/logout_confirm.html")
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        audit.record(request, audit.SIGN_OUT, actor=user)
    signin.cancel_pending(request)  # signing out on step 2 cancels that sign-in and its text
    logout(request)  # flushes the session: its row is deleted server-side
    messages.info(request, _("You have signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


def reauth_failure_limit() -> DatabaseLimit:
    """Step-up's and password change's per-account budget, in the database (survives Redis)."""
    failures, window = app_settings.LOGIN_FAILURES_PER_ACCOUNT
    return DatabaseLimit("reauth-user", failures, window)


@login_required
@sensitive_post_parameters("password", "code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def reauthenticate_view(request: HttpRequest) -> HttpResponse:
    """Step-up re-authentication: the password, plus a second factor if the user has one.

    "Text me a code" and another method's button post this form too, so the
    password typed so far comes back in the field instead of being erased.
    """
    user = request.user
    next_url = safe_next_url(request)
    switch_to = request.POST.get("use_method", "")
    requested = switch_to or request.POST.get("method") or request.GET.get("method")
    method, methods = choose_method(user, requested, purpose="reauth")
    # A posted method the agency refuses: the form is refused, nothing is checked or sent.
    refusal = refused_method_message(user, requested) if request.method == "POST" else ""
    form_class = ReauthenticationWithCodeForm if method else ReauthenticationForm
    resend = (request.method == "POST" and "resend" in request.POST and method is not None and method.can_resend
              and not refusal)
    if refusal or resend or switch_to:
        form = _form_keeping_password(request, form_class)
    else:
        form = form_class(bound_data(request))
    if method is not None:
        form.fit_to(method)
    if refusal:
        audit.record(request, audit.REAUTH_FAILED, method=requested[:32], data={"error": "method_not_allowed"})
    elif request.method == "POST" and form.is_bound and form.is_valid():
        error = _check_reauthentication(request, form, method)
        if error is None:
            return redirect(reauth.resume_after_step_up(request, next_url))
        form.add_error(None, error)
    challenge = method.begin_challenge(request, user, purpose="reauth", resend=resend) if method else None
    return render(request, "accounts/reauthenticate.html", {
        "form": form, "method": method, "challenge": challenge, "next": next_url,
        "alternatives": [m for m in methods if method and m.key != method.key],
        "refusal": _refusal_with_fallback(refusal, method),
    }, status=400 if refusal else 200)


def _refusal_with_fallback(refusal: str, method) -> str:
    """"Acme Agency does not allow Text Messages. Use Google Authenticator." ("Confirm with your password." without one)."""
    if not refusal:
        return ""
    if method is None:
        return _("%(refusal)s Confirm with your password.") % {"refusal": refusal}
    return _("%(refusal)s Use %(method)s.") % {"refusal": refusal, "method": method.label}


def _form_keeping_password(request: HttpRequest, form_class):
    """Return an unchecked form that shows the password typed so far (the page is never cached)."""
    form = form_class()
    field = form.fields["password"]
    field.widget.render_value = True
    form.initial["password"] = request.POST.get("password", "")[:field.max_length]
    if form.initial["password"] and "code" in form.fields:  # the code is what is left to type
        field.widget.attrs.pop("autofocus", None)
        form.fields["code"].widget.attrs["autofocus"] = True
    return form


def _check_reauthentication(request: HttpRequest, form, method) -> str | None:
    """Return None on success (and open the sudo window), else the error to show."""
    user, limit = request.user, reauth_failure_limit()
    # Counted before the check (parallel guesses cannot slip through while
    # the hasher runs) and handed back on success.
    wait, bucket = limit.take(str(user.pk))
    if wait:
        return too_many_attempts_message(wait)
    failure_data: dict = {}
    if not user.check_password(form.cleaned_data["password"]):
        error, failure_data = _("Incorrect password."), {"error": "incorrect_password"}
    elif method is not None:
        result = method.verify(request, user, form.cleaned_data["code"], purpose="reauth")
        if result.ok:
            error = None
        else:
            error, failure_data = result.message, {"error": result.error, "retry_after": result.retry_after}
    else:
        error = None
    if error is None:
        limit.give_back(str(user.pk), bucket)
        reauth.mark_reauthenticated(request, second_factor=method is not None)
        audit.record(request, audit.REAUTH_SUCCEEDED, method=method.key if method else "password")
        return None
    audit.record(request, audit.REAUTH_FAILED, method=method.key if method else "password", data=failure_data)
    return error


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    """Account Details > Profile: name, email, password, Preferences and Multi-Factor Methods."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile was updated."))
        return redirect("accounts:profile")
    return _profile_page(request, form=form, preferences_form=_preferences_form(request))


@login_required
@never_cache
@require_POST
def preferences_view(request: HttpRequest) -> HttpResponse:
    """The Profile's Preferences: save the language and time zone, and the language cookie (as set_language)."""
    # The form edits a copy: refused input must not reach the page's own request.user.
    form = _preferences_form(request, data=request.POST, instance=User.objects.get(pk=request.user.pk))
    if not form.is_valid():
        return _profile_page(request, form=ProfileForm(instance=request.user), preferences_form=form, status=400)
    user = form.save()
    if user.language:  # this message is in the new language already
        translation.activate(user.language)
    messages.success(request, _("Your preferences were saved."))
    response = redirect(_profile_section("preferences"))
    set_language_cookie(response, user.language)
    return response


def _preferences_form(request: HttpRequest, **kwargs) -> PreferencesForm:
    return PreferencesForm(instance=kwargs.pop("instance", request.user),
                           agency_time_zone=preferences.agency_time_zone(request.user), **kwargs)


def _profile_page(request: HttpRequest, *, form, preferences_form, status: int = 200) -> HttpResponse:
    return render(request, "accounts/profile.html", {
        "form": form,
        "preferences_form": preferences_form,
        "methods": profile_methods(request.user),
        "activity": recent_sign_in_activity(request.user),
    }, status=status)


@login_required
@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and not _password_change_allowed(request, form):
        # Spent budget: show a fresh form, never the result of checking this one.
        throttled = too_many_attempts_message(reauth_failure_limit().retry_after(str(request.user.pk)))
        return render(request, "accounts/password_change.html",
                      {"form": PasswordChangeForm(request.user), "throttled": throttled}, status=429)
    if request.method == "POST" and form.is_valid():
        flows.change_password(request, user=request.user, new_password=form.cleaned_data["new_password"])
        messages.success(request, _("Your password was changed."))
        return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


def _password_change_allowed(request: HttpRequest, form: PasswordChangeForm) -> bool:
    """Share re-authentication's budget: the current-password field is a password check too.

    Returns False, before any password is checked, when the budget is spent;
    otherwise validates the form and keeps the slot only for a wrong password.
    """
    limit, key = reauth_failure_limit(), str(request.user.pk)
    wait, bucket = limit.take(key)
    if wait:
        return False
    if form.is_valid() or not form.has_error("old_password", "password_incorrect"):
        limit.give_back(key, bucket)
    else:
        audit.record(request, audit.PASSWORD_CHANGE_FAILED, data={"error": "incorrect_password"})
    return True


def _profile_section(anchor: str) -> str:
    """Return the Profile's URL at one of its sections ("trusted-browsers", "active-sessions")."""
    return f"{resolve_url('accounts:profile')}#{anchor}"


@reauth.reauthentication_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def trusted_browser_revoke_view(request: HttpRequest, browser_id: int) -> HttpResponse:
    """Revoke one trusted browser (POST); a GET, as after "Confirm it's you", asks once more."""
    if request.method != "POST":
        browser = trusted_browsers.trusted_browser_row(request.user, browser_id=browser_id)
        if browser is None:
            raise Http404
        return render(request, "accounts/trusted_browser_revoke_confirm.html", {"browser": browser})
    if not trusted_browsers.revoke(request, user=request.user, browser_id=browser_id):
        raise Http404
    messages.success(request, _("The browser was revoked: it will ask for a code at its next sign-in."))
    return redirect(_profile_section("trusted-browsers"))


@reauth.reauthentication_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def trusted_browsers_revoke_all_view(request: HttpRequest) -> HttpResponse:
    """Revoke every trusted browser (POST); a GET asks once more."""
    if request.method != "POST":
        return render(request, "accounts/trusted_browser_revoke_confirm.html", {"browser": None})
    count = trusted_browsers.revoke_all(request, user=request.user)
    messages.success(request, ngettext(
        "%(count)d browser was revoked: it will ask for a code at its next sign-in.",
        "%(count)d browsers were revoked: they will ask for a code at their next sign-in.", count,
    ) % {"count": count})
    return redirect(_profile_section("trusted-browsers"))


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_request_view(request: HttpRequest) -> HttpResponse:
    """"Forgot password?": every address gets the same answer, known or not."""
    form = PasswordResetRequestForm(bound_data(request))
    if request.method == "POST" and form.is_valid():
        outcome = password_reset.request_reset(request, email=form.cleaned_data["email"])
        if not outcome.retry_after:
            return redirect("accounts:password_reset_sent")
        form.add_error(None, too_many_attempts_message(outcome.retry_after))
    return render(request, "accounts/password_reset_request.html", {"form": form})


@never_cache
@require_http_methods(["GET"])
def password_reset_sent_view(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_sent.html", {
        "valid_minutes": max(1, app_settings.PASSWORD_RESET_TIMEOUT // 60),
    })


@never_cache
@require_http_methods(["GET"])
def password_reset_link_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The emailed link: check it, keep its token in the session, and drop it from the address bar."""
    if password_reset.check_link(request, uidb64=uidb64, token=token) is None:
        return render(request, "accounts/password_reset_invalid.html", status=400)
    password_reset.hold_link(request, uidb64=uidb64, token=token)
    return redirect("accounts:password_reset")


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_view(request: HttpRequest) -> HttpResponse:
    """Choose a new password for the link this session opened; it signs nobody in."""
    user, token = password_reset.held_link(request)
    if user is None:
        return render(request, "accounts/password_reset_invalid.html", status=400)
    form = ResetPasswordForm(user, bound_data(request))
    if request.method == "POST" and form.is_valid():
        if not password_reset.reset_password(request, user=user, token=token,
                                             new_password=form.cleaned_data["new_password"]):
            return render(request, "accounts/password_reset_invalid.html", status=400)
        messages.success(request, _("Your password was reset. Sign in with your new password."))
        return redirect("accounts:login")
    return render(request, "accounts/password_reset.html", {"form": form, "reset_user": user})


@login_required
@never_cache
def two_factor_required_view(request: HttpRequest) -> HttpResponse:
    """"Set up two-factor authentication": where the agency policy sends a user without an allowed method."""
    rows = [row for row in profile_methods(request.user) if row.is_primary]
    requirement = mfa_policy.requirement(request.user)
    offered = [row for row in rows if row.allowed]
    return render(request, "accounts/two_factor_required.html", {
        "methods": offered,
        "recommended": recommended_set_up(offered),
        # The user's methods the policy refuses: why they are asked again.
        "refused": [str(row.label) for row in rows if row.is_active and not row.allowed],
        "restricted": requirement.required and requirement.allowed_methods is not None,
        "no_method_in_common": mfa_policy.no_method_in_common(request.user),
        "enforced": requirement.enforced(),
    })


@reauth.reauthentication_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def session_sign_out_view(request: HttpRequest, session_id: int) -> HttpResponse:
    """Sign out one of your sessions (POST); a GET, as after "Confirm it's you", asks once more."""
    if request.method != "POST":
        row = sessions.active_session(request.user, session_id=session_id, current_key=request.session.session_key)
        if row is None:
            raise Http404
        return render(request, "accounts/session_sign_out_confirm.html", {"row": row})
    if not sessions.revoke_session(request, session_id=session_id):
        raise Http404
    if not request.user.is_authenticated:  # it was this session
        messages.info(request, _("You have signed out."))
        return redirect(settings.LOGOUT_REDIRECT_URL)
    messages.success(request, _("The session was signed out."))
    return redirect(_profile_section("active-sessions"))


@reauth.reauthentication_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def other_sessions_sign_out_view(request: HttpRequest) -> HttpResponse:
    """Sign out every session but this one (POST); a GET asks once more."""
    if request.method != "POST":
        return render(request, "accounts/session_sign_out_confirm.html", {"row": None})
    count = sessions.revoke_other_sessions(request)
    messages.success(request, ngettext(
        "%(count)d other session was signed out.", "%(count)d other sessions were signed out.", count,
    ) % {"count": count})
    return redirect(_profile_section("active-sessions"))
