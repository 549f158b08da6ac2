"""Settings pages of an agency. Views parse, check permissions, call a flow, render."""
import csv
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.reauth import reauthentication_required
from accounts.selectors import profile_methods
from agencies import flows, permissions, plans, selectors
from agencies.forms import ManageUsersFilterForm, SecurityLogFilterForm, SecurityPolicyForm
from agencies.models import Agency
from ctm_auth.dates import format_day
from mfa.backup_codes import flows as backup_codes
from mfa.backup_codes import selectors as backup_selectors
from mfa.registry import active_methods, get_method

# --- Settings > Manage Users (not sensitive: lists, no secrets) -------------

@login_required
@never_cache
def manage_users_view(request: HttpRequest, agency_id: int) -> HttpResponse:
    agency = permissions.get_agency_for_manager_or_404(request.user, agency_id)
    form = ManageUsersFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    listing = selectors.manage_users_page(agency, search=(filters.get("q") or "").strip(),
                                          without_two_factor=filters.get("without_two_factor", False),
                                          standing=filters.get("standing") or "",
                                          page_number=request.GET.get("page", 1))
    actor_role = permissions.role_of(request.user, agency)
    candidates = {
        row.membership.user_id for row in listing.rows
        if row.membership.user_id != request.user.pk
        and permissions.role_can_manage(actor_role, row.membership.role)
    }
    editable = candidates - permissions.members_beyond_actor(request.user, agency, candidates)
    return render(request, "agencies/manage_users.html", {
        "agency": agency, "form": form, "listing": listing, "editable": editable,
        "query_string": _query_without_page(request),
    })


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@never_cache
def edit_user_view(request: HttpRequest, agency_id: int, user_id: int) -> HttpResponse:
    """Settings > Manage Users > Edit: the member and their Multi-Factor Methods."""
    agency = permissions.get_agency_for_manager_or_404(request.user, agency_id)
    membership = permissions.get_managed_member_or_404(request.user, agency, user_id)
    return render(request, "agencies/edit_user.html", {
        "agency": agency, "member": membership.user, "membership": membership,
        "methods": _methods_for_admin(agency, membership.user),
    })


def _methods_for_admin(agency: Agency, member) -> list:
    """The member's Multi-Factor Methods as on their Profile, Add/Edit leading to the admin pages.

    Without the Profile's warnings: they speak to the member ("you could be locked out").
    """
    return [
        replace(row, manage_url=_admin_url(agency, member, get_method(row.key)), warning="")
        for row in profile_methods(member)
    ]


def _admin_url(agency: Agency, member, method) -> str:
    if method.is_primary:
        return reverse("agencies:member_method", args=[agency.pk, member.pk, method.key])
    if method.key == backup_codes.METHOD_KEY:
        return reverse("agencies:member_backup_codes", args=[agency.pk, member.pk])
    return ""


# --- Sensitive: behind step-up re-authentication ----------------------------
# An administrator's pages on another user's methods ask on every visit (the
# seed: "You will be prompted to re-authenticate"); the buttons on a page
# that opened keep working for MFA_REAUTH_MEMBER_PAGE_WINDOW.

MEMBER_BACKUP_CODES = "agencies:member_backup_codes"


@reauthentication_required(each_visit=True, action=gettext_lazy("Disable"))
@require_http_methods(["GET", "POST"])
def member_method_view(request: HttpRequest, agency_id: int, user_id: int, method_key: str) -> HttpResponse:
    """Add/Edit on a member's method: offers "Disable" (an administrator's reset)."""
    agency, member = permissions.get_agency_and_member_or_404(request.user, agency_id, user_id)
    method = get_method(method_key)
    if method is None or not method.is_primary:
        raise Http404
    if request.method == "POST":
        if flows.reset_member_method(request, actor=request.user, agency=agency, target=member, method=method):
            messages.success(request, _("%(method)s was disabled for %(email)s. They were signed out everywhere.")
                             % {"method": method.label, "email": member.email})
        else:
            messages.info(request, _("%(method)s was not enabled for %(email)s; nothing changed.")
                          % {"method": method.label, "email": member.email})
        return redirect("settings:edit_user", agency_id=agency.pk, user_id=member.pk)
    is_active = method.is_active_for(member)
    return render(request, "agencies/member_method.html", {
        "agency": agency, "member": member, "method": method, "is_active": is_active,
        "detail": method.status_detail(member) if is_active else "",
        "is_last_primary": is_active and _is_last_primary(member, method),
        "has_backup_codes": backup_selectors.summary_for(member).code_set is not None,
    })


def _is_last_primary(member, method) -> bool:
    """Whether disabling ``method`` leaves ``member`` without a primary method (their backup codes go too)."""
    return not any(other.is_primary and other.key != method.key for other in active_methods(member))


@reauthentication_required(each_visit=True)
@require_http_methods(["GET"])
def member_backup_codes_view(request: HttpRequest, agency_id: int, user_id: int) -> HttpResponse:
    """Add/Edit beside a member's Backup Codes: "View Backup Codes" and "Generate Backup Codes"."""
    agency, member = permissions.get_agency_and_member_or_404(request.user, agency_id, user_id)
    return render(request, "agencies/member_backup_codes.html", {
        "agency": agency, "member": member, "summary": backup_selectors.summary_for(member),
    })


@reauthentication_required(each_visit=True, resume_at=MEMBER_BACKUP_CODES, action=gettext_lazy("View Backup Codes"))
@require_http_methods(["GET", "POST"])
def member_backup_codes_reveal_view(request: HttpRequest, agency_id: int, user_id: int) -> HttpResponse:
    """Show the member's current codes, decrypted. POST only: every view is audited and emailed."""
    agency, member = permissions.get_agency_and_member_or_404(request.user, agency_id, user_id)
    if request.method != "POST":
        return redirect("agencies:member_backup_codes", agency_id=agency.pk, user_id=member.pk)
    codes = backup_codes.codes_for_admin_view(request, actor=request.user, target=member, agency=agency)
    if codes is None:
        messages.info(request, _("%(email)s has no backup codes.") % {"email": member.email})
        return redirect("agencies:member_backup_codes", agency_id=agency.pk, user_id=member.pk)
    return _codes_shown(request, agency, member, codes, generated=False)


@reauthentication_required(each_visit=True, resume_at=MEMBER_BACKUP_CODES,
                           action=gettext_lazy("Generate Backup Codes"))
@require_http_methods(["GET", "POST"])
def member_backup_codes_generate_view(request: HttpRequest, agency_id: int, user_id: int) -> HttpResponse:
    """"Generate Backup Codes" for a member: replaces their old set, emails them.

    Two POSTs when a set is in use: the first shows what stops working and
    asks to continue (confirm=1 with the set it showed); only the second
    replaces it. Both ride on the Backup Codes page's step-up.
    """
    agency, member = permissions.get_agency_and_member_or_404(request.user, agency_id, user_id)
    if request.method != "POST":
        return redirect("agencies:member_backup_codes", agency_id=agency.pk, user_id=member.pk)
    confirmed = request.POST.get("confirm") == "1"
    replacing = request.POST.get("replacing", "")[:100] if confirmed else ""
    try:
        codes = backup_codes.generate_for_user(request, actor=request.user, target=member, agency=agency,
                                               replacing=replacing)
    except backup_codes.BackupCodesError as error:
        if error.error == "confirm_replace":
            # A second step that no longer matches the set in use is refused: ask again.
            return _confirm_generate(request, agency, member, note=error.message if confirmed else "",
                                     status=400 if confirmed else 200)
        messages.error(request, error.message)
        return redirect("agencies:member_backup_codes", agency_id=agency.pk, user_id=member.pk)
    return _codes_shown(request, agency, member, codes, generated=True)


def _confirm_generate(request: HttpRequest, agency: Agency, member, *, note: str, status: int) -> HttpResponse:
    summary = backup_selectors.summary_for(member)
    return render(request, "agencies/member_backup_codes_confirm.html", {
        "agency": agency, "member": member, "summary": summary, "note": note,
        "replacing": backup_codes.set_version(summary.code_set),
    }, status=status)


def _codes_shown(request: HttpRequest, agency: Agency, member, codes, *, generated: bool) -> HttpResponse:
    """The member's codes with Copy, Download and Print: the sheet and the file name the member.

    The file is built in the browser from ``file_text`` (see
    member_backup_codes_actions.html), so no second request carries the codes.
    """
    heading = _("Backup codes for %(name)s <%(email)s>, %(agency)s, generated %(when)s") % {
        "name": member.get_short_name(), "email": member.email, "agency": agency.name,
        "when": format_day(codes.generated_at),
    }
    return render(request, "agencies/member_backup_codes_shown.html", {
        "agency": agency, "member": member, "view": codes, "generated": generated, "heading": heading,
        "filename": backup_codes.member_download_filename(member, codes),
        "file_text": render_to_string("agencies/member_backup_codes_download.txt", {"heading": heading, "view": codes}),
    })


@reauthentication_required
@require_http_methods(["GET", "POST"])
def security_policy_view(request: HttpRequest, agency_id: int) -> HttpResponse:
    """Settings > Parent Settings > Security (the Owner only); a change that affects members is previewed first."""
    agency = permissions.get_agency_for_manager_or_404(request.user, agency_id)
    if not permissions.can_change_security_policy(request.user, agency):
        raise Http404
    form = SecurityPolicyForm(request.POST or None, agency=agency)
    context = {"agency": agency, "form": form, "eligible": agency.plan.allows_required_two_factor}
    if request.method == "POST" and "back" in request.POST:
        return render(request, "agencies/security_policy.html", context)  # the preview's "Back": edit again
    if request.method == "POST" and (refusal := flows.plan_refusal(agency)):
        form.add_error(None, str(refusal))
    elif request.method == "POST" and form.is_valid():
        try:
            flows.set_security_policy(request, actor=request.user, agency=agency,
                                      policy=flows.SecurityPolicy(**form.policy_values()),
                                      confirmed=form.cleaned_data["confirm"],
                                      acknowledged=form.cleaned_data["acknowledged"])
        except flows.ConfirmationNeeded as preview:
            return render(request, "agencies/security_policy_preview.html", {**context, "impact": preview.impact})
        except flows.NotAcknowledged as error:
            return render(request, "agencies/security_policy_preview.html",
                          {**context, "impact": error.impact, "error": str(error)}, status=400)
        except flows.PolicyError as error:
            form.add_error(None, str(error))
            context["set_up_methods"] = error.methods
        else:
            messages.success(request, _("Security settings saved."))
            return redirect("agencies:security_policy", agency_id=agency.pk)
    return render(request, "agencies/security_policy.html", context,
                  status=400 if request.method == "POST" else 200)


# --- Settings > Plans (read-only: what each plan includes) ------------------

@login_required
@never_cache
def plans_view(request: HttpRequest, agency_id: int) -> HttpResponse:
    """The plans and whether each lets the Owner require two-factor, this agency's marked."""
    agency = permissions.get_agency_for_manager_or_404(request.user, agency_id)
    return render(request, "agencies/plans.html", {"agency": agency, "plans": plans.all_plans()})


# --- Settings > Security Log ------------------------------------------------

@login_required
@never_cache
def security_log_view(request: HttpRequest, agency_id: int) -> HttpResponse:
    agency = permissions.get_agency_for_manager_or_404(request.user, agency_id)
    form = SecurityLogFilterForm(request.GET or None, event_types=selectors.security_log_event_types(),
                                 groups=selectors.security_log_groups())
    if form.is_bound and not form.is_valid():
        # A refused filter shows no events and exports nothing: an unfiltered
        # list (or CSV) under a filter the admin believes applied would mislead.
        return _security_log_page(request, agency, form, page=None, status=400)
    fields = form.cleaned_data if form.is_bound else {}
    filters = selectors.security_log_filters(**{name: fields.get(name) for name in (
        "user", "event_type", "group", "date_from", "date_to")})
    if request.GET.get("format") == "csv":
        return _security_log_csv(agency, selectors.security_log(agency, filters))
    try:
        page = selectors.security_log_page(agency, filters, older=request.GET.get("older", ""),
                                           newer=request.GET.get("newer", ""))
    except selectors.BadCursor:
        form.add_error(None, _("That page link is not valid. Start again from the newest events."))
        return _security_log_page(request, agency, form, page=None, status=400)
    return _security_log_page(request, agency, form, page=page)


def _security_log_page(request: HttpRequest, agency: Agency, form, *, page, status: int = 200) -> HttpResponse:
    query = request.GET.copy()
    for name in ("older", "newer", "format"):
        query.pop(name, None)
    return render(request, "agencies/security_log.html", {
        "agency": agency, "form": form, "page": page, "query_string": query.urlencode(),
    }, status=status)


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_HEADER = ["time", "event", "event_description", "group", "actor", "target",
              "method", "method_name", "ip_address", "user_agent"]


def _security_log_csv(agency: Agency, events) -> StreamingHttpResponse:
    """The log as CSV: the stable keys (event, method) beside their words, for scripts and people."""
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_HEADER)
        # Times stay ISO 8601 in UTC (not ctm_auth.dates): the file is read by scripts and spreadsheets.
        for event in events.iterator(chunk_size=500):
            row = selectors.log_row(event)
            yield writer.writerow([
                event.created_at.isoformat(), _csv_safe(event.event_type), _csv_safe(row.description),
                _csv_safe(row.group), _csv_safe(event.actor.email if event.actor else ""),
                _csv_safe(event.target_user.email if event.target_user else event.attempted_email),
                _csv_safe(event.method), _csv_safe(row.method_name), event.ip_address or "",
                _csv_safe(event.user_agent),
            ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="security-log-agency-{agency.pk}.csv"'
    response["Cache-Control"] = "no-store"
    return response


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in a cell a user, or our words about them, can start.

    Spreadsheets look past leading spaces to find a formula, so this does too.
    """
    value = value or ""
    return "'" + value if value[:1] in _FORMULA_STARTS or value.lstrip(" ")[:1] in _FORMULA_STARTS else value
