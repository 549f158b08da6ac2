"""Settings > Manage Users > Edit > "Issue a temporary access pass": the pages, behind step-up.

Like the other pages on a member's methods, each visit asks to confirm it's
you (``each_visit``), and its buttons work for MFA_REAUTH_MEMBER_PAGE_WINDOW
after it opened. The role rule is the resets' (agencies.permissions), checked
by the view and again by the flow.
"""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.reauth import reauthentication_required
from agencies import permissions
from mfa.access_pass import flows, selectors
from mfa.access_pass.forms import IssuePassForm

MEMBER_ACCESS_PASS = "agencies:member_access_pass"


@reauthentication_required(each_visit=True, action=gettext_lazy("Issue a temporary access pass"))
@require_http_methods(["GET", "POST"])
def member_access_pass_view(request: HttpRequest, agency_id: int, user_id: int) -> HttpResponse:
    """The member's pass (its state, Revoke) and the issue form; a POST issues one and shows it, once."""
    agency, member = permissions.get_agency_and_member_or_404(request.user, agency_id, user_id)
    form = IssuePassForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = flows.issue_pass(request, actor=request.user, target=member, agency=agency,
                                      lifetime_hours=form.cleaned_data["lifetime_hours"],
                                      may_manage=permissions.can_manage_user)
        except flows.AccessPassError as refused:
            form.add_error(None, refused.message)
        else:
            return render(request, "agencies/member_access_pass_issued.html", {
                "agency": agency, "member": member, "issued": issued,
            })
    return render(request, "agencies/member_access_pass.html", {
        "agency": agency, "member": member, "form": form, "state": selectors.state_for(member),
    }, status=400 if request.method == "POST" else 200)


@reauthentication_required(each_visit=True, resume_at=MEMBER_ACCESS_PASS, action=gettext_lazy("Revoke"))
@require_http_methods(["GET", "POST"])
def member_access_pass_revoke_view(request: HttpRequest, agency_id: int, user_id: int) -> HttpResponse:
    """"Revoke": the member's live pass stops working at once (POST; a GET goes to the pass's page)."""
    agency, member = permissions.get_agency_and_member_or_404(request.user, agency_id, user_id)
    if request.method != "POST":
        return redirect(MEMBER_ACCESS_PASS, agency_id=agency.pk, user_id=member.pk)
    if flows.revoke_pass(request, actor=request.user, target=member, agency=agency,
                         may_manage=permissions.can_manage_user):
        messages.success(request, _("The temporary access pass of %(email)s was revoked. It no longer works.")
                         % {"email": member.email})
    else:
        messages.info(request, _("%(email)s has no temporary access pass that works; nothing changed.")
                      % {"email": member.email})
    return redirect("settings:edit_user", agency_id=agency.pk, user_id=member.pk)
