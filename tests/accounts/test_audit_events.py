"""The audit event catalogue: every recorded event type has a group, a name and a line in words."""
import ast
import importlib
import pathlib
import re

import pytest

from accounts import audit, audit_events
from accounts.models import AuditEvent
from mfa.registry import all_methods

pytestmark = pytest.mark.django_db

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "agencies", "mfa", "ctm_auth")
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

# Recorded by code that lands with other parts of issue 12; registered ahead of it.
ANNOUNCED_CODES = ("access_pass.issued", "access_pass.used", "access_pass.revoked", "access_pass.expired",
                   "agency.two_factor_policy_changed")


# --- walking the code base for the codes it records ------------------------------

def _is_record_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return ((isinstance(func, ast.Attribute) and func.attr == "record"
             and isinstance(func.value, ast.Name) and func.value.id == "audit")
            or (isinstance(func, ast.Name) and func.id == "record"))


def _resolve(node: ast.AST, module) -> list[str]:
    """The strings a Name or audit.NAME stands for (module globals), or a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "audit":
        return [getattr(audit, node.attr)]
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return [getattr(module, node.id)]
    return []


def _local_values(function: ast.AST, name: str, module) -> list[str]:
    """Codes a local variable is assigned from: every constant name in the assigned expressions."""
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            name in {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} for target in node.targets
        ):
            for leaf in ast.walk(node.value):
                if isinstance(leaf, (ast.Name, ast.Attribute)):
                    found += _resolve(leaf, module)
    return found


def recorded_codes() -> dict[str, str]:
    """Return {code: where} for every audit.record(...) call in the product's packages."""
    codes, unresolved = {}, []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            calls = [n for n in ast.walk(tree) if _is_record_call(n) and len(n.args) >= 2]
            if not calls:
                continue
            module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
            for call in calls:
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                values = [value for leaf in ast.walk(call.args[1]) for value in _resolve(leaf, module)]
                if not values and isinstance(call.args[1], ast.Name):
                    enclosing = [f for f in functions if f.lineno <= call.lineno <= f.end_lineno]
                    values = _local_values(enclosing[-1], call.args[1].id, module) if enclosing else []
                if not values:
                    unresolved.append(where)
                codes.update(dict.fromkeys(values, where))
    assert not unresolved, f"event types this test cannot read (use a module constant): {unresolved}"
    return codes


def test_the_walk_finds_the_codes_of_every_app():
    codes = recorded_codes()
    for code in ("signin.succeeded", "trusted_browser.used", "session.revoked", "password.reset",
                 "delivery.dead", "agency.member_method_reset", "mfa.totp.replaced", "mfa.webauthn.possible_clone",
                 "mfa.sms.send_failed", "mfa.backup_codes.used", "mfa.fallback_methods_destroyed"):
        assert code in codes


def test_every_recorded_event_type_is_registered():
    missing = {code: where for code, where in recorded_codes().items() if code not in audit_events.registered()}
    assert not missing, f"register these in their app's audit_events module: {missing}"


@pytest.mark.parametrize("code", ANNOUNCED_CODES)
def test_event_types_of_issue_12_are_registered(code):
    assert code in audit_events.registered()


# --- every registered event reads as words ---------------------------------------

@pytest.fixture
def people(make_user):
    return make_user("alex@agency.test", name="Admin Alex"), make_user("alice@agency.test", name="Alice Ng")


def _record(code, *, actor, target, method="", data=None, attempted_email=""):
    return audit.record(None, code, actor=actor, target=target, method=method, data=data,
                        attempted_email=attempted_email, client=("198.51.100.7", FIREFOX_ON_LINUX))


@pytest.mark.parametrize("code", sorted(audit_events.registered()))
@pytest.mark.parametrize("who", ["admin_for_member", "self", "nobody"])
def test_every_registered_event_has_a_line_in_words(code, who, people):
    admin, alice = people
    actor, target = {"admin_for_member": (admin, alice), "self": (alice, alice), "nobody": (None, alice)}[who]
    event = _record(code, actor=actor, target=target, method="totp")
    kind = audit_events.kind_of(code)

    line = kind.describe(audit_events.Words(AuditEvent.objects.select_related("actor", "target_user").get(pk=event.pk)))

    assert line and line == audit_events.describe(event)
    assert code not in line and "%(" not in line and "None" not in line
    assert "Alice Ng" in line or "Admin Alex" in line or "Someone" in line or "someone" in line or "A " in line
    assert kind.group in audit_events.GROUPS and str(kind.label) and code not in str(kind.label)


def test_an_unregistered_code_still_reads_as_words(people):
    admin, alice = people
    event = _record("billing.card_replaced", actor=admin, target=alice)

    assert audit_events.describe(event) == "Admin Alex: billing card replaced (for Alice Ng)"
    assert audit_events.label_of("billing.card_replaced") == "Billing card replaced"


def test_a_line_uses_the_email_when_the_name_is_blank(make_user):
    nameless = make_user("nameless@agency.test")
    type(nameless).objects.filter(pk=nameless.pk).update(name="")  # an account made before names were required
    nameless.refresh_from_db()
    event = _record(audit.PASSWORD_CHANGED, actor=nameless, target=nameless)

    assert audit_events.describe(event) == "nameless@agency.test changed their password"


# --- the lines themselves ------------------------------------------------------------

def test_sign_in_line_names_the_method_and_browser(people):
    _admin, alice = people
    assert (audit_events.describe(_record(audit.SIGN_IN_SUCCEEDED, actor=alice, target=alice, method="webauthn"))
            == "Alice Ng signed in with Passkeys and security keys from Firefox on Linux")
    assert (audit_events.describe(_record(audit.SIGN_IN_SUCCEEDED, actor=alice, target=alice,
                                          method="trusted_browser"))
            == "Alice Ng signed in with Trusted browser from Firefox on Linux")


def test_failed_sign_in_against_an_unknown_email_names_the_email():
    event = _record(audit.SIGN_IN_FAILED, actor=None, target=None, method="password",
                    attempted_email="bob@example.com")

    assert audit_events.describe(event) == "Someone failed to sign in as bob@example.com (wrong password)"


def test_admin_disabling_a_members_method_names_both(people):
    admin, alice = people
    from agencies.flows import MEMBER_METHOD_RESET
    from mfa.totp.flows import TOTP_DISABLED

    assert (audit_events.describe(_record(MEMBER_METHOD_RESET, actor=admin, target=alice, method="totp"))
            == "Admin Alex disabled Google Authenticator for Alice Ng")
    assert (audit_events.describe(_record(TOTP_DISABLED, actor=admin, target=alice, method="totp"))
            == "Admin Alex disabled Google Authenticator for Alice Ng")
    assert (audit_events.describe(_record(TOTP_DISABLED, actor=alice, target=alice, method="totp"))
            == "Alice Ng disabled Google Authenticator")


def test_access_pass_lines(people):
    admin, alice = people
    issued = _record("access_pass.issued", actor=admin, target=alice,
                     data={"lifetime_hours": 24, "expires_at": "2026-12-04T09:00:00+00:00"})
    used = _record("access_pass.used", actor=alice, target=alice)

    assert audit_events.describe(issued) == "Admin Alex issued a temporary access pass for Alice Ng (valid 24 hours)"
    assert audit_events.describe(used) == "Alice Ng signed in with a temporary access pass from Firefox on Linux"
    assert audit_events.group_of("access_pass.issued") == audit_events.ADMINISTRATION
    assert audit_events.group_of("access_pass.used") == audit_events.SIGN_IN


POLICY = {"required": True, "grace_days": 7, "allowed_methods": [], "allow_backup_codes": True,
          "allow_trusted_browsers": True, "trusted_browser_days": 30, "step_up_minutes": 10}


@pytest.mark.parametrize(("change", "line"), [
    ({"allowed_methods": ["webauthn"], "step_up_minutes": 5},
     "Dana Owner changed the security policy: allowed methods Any → Passkeys and security keys; "
     "step-up window 10 → 5 minutes"),
    ({"allowed_methods": ["totp", "sms"]},
     "Dana Owner changed the security policy: allowed methods Any → Google Authenticator, Text Messages"),
    ({"allow_backup_codes": False, "allow_trusted_browsers": False},
     "Dana Owner changed the security policy: backup codes Allowed → Not allowed; "
     "trusted browsers Allowed → Not allowed"),
    ({"trusted_browser_days": 7, "grace_days": 3},
     "Dana Owner changed the security policy: grace period 7 → 3 days; trusted-browser period 30 → 7 days"),
    ({}, "Dana Owner saved the security policy without changes"),
])
def test_policy_change_shows_before_and_after_of_what_changed(make_user, change, line):
    dana = make_user("dana@agency.test", name="Dana Owner")
    event = _record("agency.two_factor_policy_changed", actor=dana, target=dana,
                    data={"before": POLICY, "after": {**POLICY, **change}})

    assert audit_events.describe(event) == line
    assert audit_events.group_of(event.event_type) == audit_events.POLICY


def test_policy_turned_on_with_other_changes(make_user):
    dana = make_user("dana@agency.test", name="Dana Owner")
    before = {**POLICY, "required": False, "grace_days": 0}
    event = _record("agency.two_factor_policy_changed", actor=dana, target=dana,
                    data={"before": before, "after": {**POLICY, "step_up_minutes": 15}})

    assert audit_events.describe(event) == ("Dana Owner required two-factor authentication (grace 7 days) and "
                                            "changed the security policy: step-up window 10 → 15 minutes")


@pytest.mark.parametrize(("data", "line"), [
    ({"required": True, "grace_days": 7, "previously_required": False},
     "Dana Owner required two-factor authentication (grace 7 days)"),
    ({"required": False, "grace_days": 0, "previously_required": True},
     "Dana Owner stopped requiring two-factor authentication"),
])
def test_policy_rows_of_the_old_shape_still_read(make_user, data, line):
    dana = make_user("dana@agency.test", name="Dana Owner")
    event = _record("agency.two_factor_policy_changed", actor=dana, target=dana, data=data)

    assert audit_events.describe(event) == line


def test_a_row_with_unexpected_data_falls_back_to_a_line(make_user):
    dana = make_user("dana@agency.test", name="Dana Owner")
    event = _record("agency.two_factor_policy_changed", actor=dana, target=dana,
                    data={"before": "garbled", "after": ["also garbled"]})

    assert audit_events.describe(event) == "Dana Owner: agency two factor policy changed"


def test_every_method_key_has_a_name_in_words():
    names = {method.key: audit_events.method_name(method.key) for method in all_methods()}

    assert names["totp"] == "Google Authenticator" and names["sms"] == "Text Messages"
    assert names["webauthn"] == "Passkeys and security keys" and names["backup_codes"] == "Backup Codes"
    assert audit_events.method_name("password") == "Password"
    assert audit_events.method_name("trusted_browser") == "Trusted browser"
    assert audit_events.method_name("") == ""


def test_the_filters_groups_hold_every_registered_code_once():
    grouped = audit_events.grouped_choices()

    assert [group for group, _choices in grouped] == ["Sign-in", "Methods", "Administration", "Policy"]
    listed = [code for _group, choices in grouped for code, _name in choices]
    assert sorted(listed) == sorted(audit_events.registered())


def test_registering_a_code_in_a_second_group_is_refused():
    with pytest.raises(ValueError):
        audit_events.register_event(audit.SIGN_IN_SUCCEEDED, audit_events.POLICY, lambda w: "", label="x")
    with pytest.raises(ValueError):
        audit_events.register_event("x.y", "nonsense", lambda w: "", label="x")


def test_profile_sign_in_activity_names_every_method_in_words(client, user, settings):
    from django.urls import reverse

    from tests.conftest import add_fake_device, sign_in

    keys = [method.key for method in all_methods()] + ["password", "trusted_browser"]
    settings.ACCOUNTS_SIGN_IN_ACTIVITY_LIMIT = len(keys) + 5
    add_fake_device(user)
    assert sign_in(client, user).status_code == 302
    for key in keys:
        audit.record(None, audit.SIGN_IN_SUCCEEDED, actor=user, method=key, client=("198.51.100.7", FIREFOX_ON_LINUX))
    html = client.get(reverse("accounts:profile")).content.decode()
    section = html.split('id="sign-in-activity"', 1)[1].split("</table>", 1)[0]
    cells = [re.sub(r"<[^>]+>", "", row).split("\n") for row in re.findall(r'<tr class="ok">(.*?)</tr>', section, re.S)]
    shown = {cell.strip() for row in cells for cell in row if cell.strip()}

    for key in keys:
        assert audit_events.method_name(key) in shown
    assert {"Google Authenticator", "Text Messages", "Passkeys and security keys", "Backup Codes",
            "Password", "Trusted browser"} <= shown
    assert not shown & {"totp", "sms", "webauthn", "backup_codes", "trusted_browser"}
