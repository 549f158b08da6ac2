"""Step-up that never dead-ends: what a user sees around "Confirm it's you".

- A button that posts (Change number, Generate Backup Codes, any Cancel)
  pressed after the window ran out: after confirming, the user is back on
  the page with that button and a note to press it again, never on a 405.
- A fresh sign-in counts as the step-up for the user's own settings; one
  with the password alone only while the user has no second factor.
- An administrator acting on a member is asked on every visit.
- "Text me a code" keeps the typed password; step-up offers every method.
"""
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import resolve, reverse

from mfa import flows as mfa_flows
from mfa.app_settings import app_settings as mfa_settings
from mfa.totp.models import TOTPDevice
from tests.accounts.helpers import redirect_parts
from tests.conftest import (
    FAKE_CODE,
    PASSWORD,
    add_fake_device,
    let_step_up_window_pass,
    open_after_step_up,
    sign_in,
)
from tests.fake_method.models import FakeDevice
from tests.mfa.backup_codes.conftest import set_up_codes
from tests.mfa.sms.conftest import NUMBER, enrol_sms, last_code, start_sign_in, texts_to
from tests.mfa.totp.conftest import code_for, enrol, sign_in_with_totp
from tests.test_sensitive_urls import sensitive_urls

pytestmark = pytest.mark.django_db

REAUTH = "/account/reauthenticate/"
AGAIN = re.compile(r"Confirmed\. Press “([^”]+)” again\.")
CONFIRMED = "Confirmed. "


def page(response) -> str:
    return unescape(response.content.decode())


def assert_sent_to_step_up(response, next_url: str) -> None:
    path, query = redirect_parts(response)
    assert (path, query) == (REAUTH, {"next": [next_url]})


def step_up(client, next_url: str, *, code: str | None = FAKE_CODE, **extra):
    """Answer "Confirm it's you" for ``next_url`` and follow where it sends the user."""
    data = {"password": PASSWORD, "next": next_url, **extra, **({"code": code} if code else {})}
    return client.post(REAUTH, data, follow=True)


# --- every sensitive URL, posted after the window ran out --------------------

def real_path(url, values: dict) -> tuple[str, set[str]]:
    """Return the URL's path with real objects where the walk knows them, and the parameters it does not."""
    kwargs = resolve(url.path).kwargs
    if not kwargs or url.name is None:
        return url.path, set()
    filled = {key: values.get(key, value) for key, value in kwargs.items()}
    return reverse(url.name, kwargs=filled), set(kwargs) - set(values)


def walk_after_expiry(client: Client, path: str) -> tuple[bool, object, object]:
    """POST ``path`` once the window ran out, confirm, and return (POST-only?, the stop, the landing)."""
    post_only = client.get(path).status_code == 405  # right after sign-in: the window is open
    let_step_up_window_pass()
    stopped = client.post(path)
    return post_only, stopped, step_up(client, path)


def test_post_to_any_sensitive_url_after_expiry_lands_on_a_page_saying_press_again(acme):
    add_fake_device(acme.owner)
    values = {"agency_id": acme.agency.pk, "user_id": acme.alice.pk, "method_key": "totp"}
    problems, post_only = [], []
    for url in sensitive_urls():
        path, unfilled = real_path(url, values)
        client = Client()
        assert sign_in(client, acme.owner).status_code == 302
        is_post_only, stopped, landing = walk_after_expiry(client, path)
        statuses = [status for _url, status in landing.redirect_chain] + [landing.status_code]
        note = AGAIN.search(page(landing))
        if stopped.status_code != 302 or not stopped.url.startswith(REAUTH):
            problems.append(f"{path}: the expired POST was not stopped ({stopped.status_code})")
        elif 405 in statuses:
            problems.append(f"{path}: landed on a 405 after confirming ({landing.redirect_chain})")
        elif is_post_only and not (landing.status_code == 200 and note):
            problems.append(f"{path} (POST-only): {landing.status_code} without “Press … again”")
        elif landing.status_code == 200 and CONFIRMED not in page(landing):
            problems.append(f"{path}: no “Confirmed.” note on the page")
        elif landing.status_code != 200 and not (unfilled and landing.status_code == 404):
            problems.append(f"{path}: ended on {landing.status_code}")
        elif is_post_only and getattr(client.post(path), "url", "").startswith(REAUTH):
            problems.append(f"{path}: pressing “{note[1]}” again asked again")
        post_only += [url.name] if is_post_only else []

    assert not problems, "\n".join(problems)
    assert {"mfa:sms:change_start", "mfa:totp:start", "mfa:backup_codes:generate"} <= set(post_only)


@pytest.mark.django_db(transaction=True)
def test_change_number_after_expiry_comes_back_to_the_button_then_texts_the_current_number(sms_client):
    client, user = sms_client
    assert ">Change number</button>" in page(client.get("/mfa/sms/"))  # the sign-in opened the window
    let_step_up_window_pass()

    stopped = client.post("/mfa/sms/change/")
    assert_sent_to_step_up(stopped, "/mfa/sms/change/")
    client.post(REAUTH, {"password": PASSWORD, "resend": "1", "method": "sms", "next": "/mfa/sms/change/"})
    landing = step_up(client, "/mfa/sms/change/", code=last_code(NUMBER))

    assert landing.redirect_chain == [("/mfa/sms/", 302)] and landing.status_code == 200
    assert "Confirmed. Press “Change number” again." in page(landing)
    assert ">Change number</button>" in page(landing)
    texts = texts_to(NUMBER)
    again = client.post("/mfa/sms/change/")
    assert again.url == "/mfa/sms/verify/" and texts_to(NUMBER) == texts + 1


def test_generate_backup_codes_after_expiry_comes_back_to_the_button(client, user_with_mfa):
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()

    assert_sent_to_step_up(client.post("/mfa/backup_codes/generate/"), "/mfa/backup_codes/generate/")
    landing = step_up(client, "/mfa/backup_codes/generate/")

    assert landing.redirect_chain == [("/mfa/backup_codes/", 302)]
    assert "Confirmed. Press “Generate Backup Codes” again." in page(landing)
    assert client.post("/mfa/backup_codes/generate/").url == "/mfa/backup_codes/new/"


def test_set_up_google_authenticator_after_expiry_names_the_button_the_page_shows(client, user_with_mfa):
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()
    client.post("/mfa/totp/start/")

    landing = step_up(client, "/mfa/totp/start/")

    assert "Confirmed. Press “Set up Google Authenticator” again." in page(landing)
    assert ">Set up Google Authenticator</button>" in page(landing)
    assert not TOTPDevice.objects.filter(user=user_with_mfa).exists()  # the stopped POST started nothing


def test_opening_a_page_by_link_after_expiry_shows_no_press_again_note(client, user_with_mfa):
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()

    assert_sent_to_step_up(client.get("/mfa/default/"), "/mfa/default/")
    landing = step_up(client, "/mfa/default/")

    assert landing.status_code == 200 and CONFIRMED not in page(landing)


def test_form_sent_after_expiry_says_nothing_was_changed(client, user_with_mfa):
    assert sign_in(client, user_with_mfa).status_code == 302
    let_step_up_window_pass()
    client.post("/mfa/default/", {"method": "fake"})

    landing = step_up(client, "/mfa/default/")

    assert "Confirmed. Nothing was changed yet: send the form again." in page(landing)


# --- a fresh sign-in counts as the step-up ---------------------------------------

def test_sign_in_with_a_code_opens_security_settings_without_asking_again(client, user):
    device = enrol(user)
    assert sign_in_with_totp(client, user, device).status_code == 302

    for path in ("/mfa/default/", "/mfa/totp/", "/mfa/backup_codes/"):
        assert client.get(path).status_code == 200, path


def test_sign_in_window_ends_after_reauth_window(client, user_with_mfa, clock):
    assert sign_in(client, user_with_mfa).status_code == 302

    clock.advance(mfa_settings.REAUTH_WINDOW - 1)
    assert client.get("/mfa/default/").status_code == 200
    clock.advance(2)
    assert_sent_to_step_up(client.get("/mfa/default/"), "/mfa/default/")


def test_sign_in_with_password_alone_opens_set_up_without_asking(signed_in_client):
    response = signed_in_client.get("/mfa/totp/")

    assert response.status_code == 200 and ">Set up Google Authenticator</button>" in page(response)


def test_first_method_set_up_after_password_sign_in_goes_on_without_asking(signed_in_client, user):
    client = signed_in_client
    assert client.post("/mfa/totp/start/").url == "/mfa/totp/setup/"
    pending = TOTPDevice.objects.get(user=user, confirmed=False)

    done = client.post("/mfa/totp/setup/", {"setup_id": pending.setup_id, "code": code_for(pending)}, follow=True)

    assert done.status_code == 200 and not any(url.startswith(REAUTH) for url, _status in done.redirect_chain)
    assert "Google Authenticator is on." in page(done)
    # This session just proved the new factor with its code: its window counts as two factors.
    assert client.get("/mfa/backup_codes/").status_code == 200


def test_password_only_window_elsewhere_stops_counting_once_a_second_factor_exists(user):
    laptop, phone = Client(), Client()
    assert sign_in(laptop, user).status_code == 302
    assert sign_in(phone, user).status_code == 302  # no second factor yet: the password alone
    assert phone.get("/mfa/default/").status_code == 200

    assert laptop.post("/mfa/totp/start/").url == "/mfa/totp/setup/"
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    laptop.post("/mfa/totp/setup/", {"setup_id": pending.setup_id, "code": code_for(pending)})
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    assert_sent_to_step_up(phone.get("/mfa/default/"), "/mfa/default/")
    prompt = page(phone.get(REAUTH, {"next": "/mfa/default/"}))
    assert 'name="password"' in prompt and 'name="code"' in prompt


def test_sign_in_that_skipped_the_code_on_a_trusted_browser_still_asks_for_it(client, user_with_mfa):
    sign_in(client, user_with_mfa, code=None)
    client.post(reverse("accounts:login_verify"), {"code": FAKE_CODE, "remember_browser": "on"})
    client.post(reverse("accounts:logout"))

    assert sign_in(client, user_with_mfa, code=None).url == reverse("accounts:profile")  # no step 2

    assert_sent_to_step_up(client.get("/mfa/default/"), "/mfa/default/")
    assert 'name="code"' in page(client.get(REAUTH, {"next": "/mfa/default/"}))


# --- an administrator acting on a member is asked on every visit --------------

def member_method_url(acme) -> str:
    return reverse("agencies:member_method", args=[acme.agency.pk, acme.alice.pk, "fake"])


@pytest.fixture
def admin_browser(acme):
    add_fake_device(acme.admin)
    add_fake_device(acme.alice)
    client = Client()
    assert sign_in(client, acme.admin).status_code == 302
    return client


def test_admin_fresh_from_sign_in_is_asked_before_a_members_method(admin_browser, acme):
    assert admin_browser.get("/mfa/default/").status_code == 200  # own settings: the sign-in counts

    assert_sent_to_step_up(admin_browser.get(member_method_url(acme)), member_method_url(acme))


def test_admin_is_asked_each_time_a_members_method_opens(admin_browser, acme):
    url = member_method_url(acme)
    first = step_up(admin_browser, url)
    assert first.redirect_chain == [(url, 302)] and ">Disable</button>" in page(first)

    assert_sent_to_step_up(admin_browser.get(url), url)  # the second opening asks again
    second = step_up(admin_browser, url)
    assert second.status_code == 200 and ">Disable</button>" in page(second)
    assert FakeDevice.objects.filter(user=acme.alice).exists()


def test_admin_disables_right_after_the_prompt(admin_browser, acme):
    open_after_step_up(admin_browser, acme.admin, member_method_url(acme))

    response = admin_browser.post(member_method_url(acme))

    assert response.url == reverse("settings:edit_user", args=[acme.agency.pk, acme.alice.pk])
    assert not FakeDevice.objects.filter(user=acme.alice).exists()


def test_admin_page_left_open_too_long_asks_again_and_changes_nothing(admin_browser, acme, clock):
    open_after_step_up(admin_browser, acme.admin, member_method_url(acme))
    clock.advance(mfa_settings.REAUTH_MEMBER_PAGE_WINDOW + 1)

    assert_sent_to_step_up(admin_browser.post(member_method_url(acme)), member_method_url(acme))
    landing = step_up(admin_browser, member_method_url(acme))

    assert "Confirmed. Press “Disable” again." in page(landing)
    assert FakeDevice.objects.filter(user=acme.alice).exists()


def test_earlier_step_up_does_not_open_a_members_backup_codes(admin_browser, acme):
    codes = set_up_codes(acme.alice)
    backup_codes = reverse("agencies:member_backup_codes", args=[acme.agency.pk, acme.alice.pk])
    reveal = reverse("agencies:member_backup_codes_reveal", args=[acme.agency.pk, acme.alice.pk])
    step_up(admin_browser, "/mfa/default/")
    assert_sent_to_step_up(admin_browser.get(backup_codes), backup_codes)

    open_after_step_up(admin_browser, acme.admin, backup_codes)
    shown = page(admin_browser.post(reveal))
    assert all(code in shown for code in codes)

    assert_sent_to_step_up(admin_browser.get(backup_codes), backup_codes)  # "Back": a new visit


def test_admin_view_backup_codes_after_expiry_comes_back_to_the_members_page(admin_browser, acme, clock):
    set_up_codes(acme.alice)
    backup_codes = reverse("agencies:member_backup_codes", args=[acme.agency.pk, acme.alice.pk])
    reveal = reverse("agencies:member_backup_codes_reveal", args=[acme.agency.pk, acme.alice.pk])
    open_after_step_up(admin_browser, acme.admin, backup_codes)
    clock.advance(mfa_settings.REAUTH_MEMBER_PAGE_WINDOW + 1)

    assert_sent_to_step_up(admin_browser.post(reveal), reveal)
    landing = step_up(admin_browser, reveal)

    assert landing.redirect_chain == [(backup_codes, 302)] and landing.status_code == 200
    assert "Confirmed. Press “View Backup Codes” again." in page(landing)
    assert admin_browser.post(reveal).status_code == 200


# --- "Text me a code" keeps the password; every method is offered ----------------

@pytest.fixture
def sms_client(client, user):
    """A Text Messages user signed in with a texted code (transactional tests: texts go out on commit)."""
    enrol_sms(user)
    start_sign_in(client, user)
    client.get(reverse("accounts:login_verify"))  # texts the sign-in code
    assert client.post(reverse("accounts:login_verify"), {"code": last_code(NUMBER)}).status_code == 302
    return client, user


def password_field(html: str) -> str:
    return re.search(r'<input type="password" name="password"[^>]*>', html)[0]


@pytest.mark.django_db(transaction=True)
def test_text_me_a_code_keeps_the_typed_password(sms_client):
    client, _user = sms_client
    let_step_up_window_pass()
    prompt = page(client.get(REAUTH, {"next": "/mfa/sms/"}))
    assert 'value="' not in password_field(prompt)
    texts = texts_to(NUMBER)

    form = client.post(REAUTH, {"password": PASSWORD, "method": "sms", "resend": "1", "next": "/mfa/sms/"})

    assert f'value="{PASSWORD}"' in password_field(page(form))
    assert "autofocus" in re.search(r'<input type="text" name="code"[^>]*>', page(form))[0]  # left to type
    assert "+1 •••-•••-2671." in page(form) and texts_to(NUMBER) == texts + 1
    assert not form.context["form"].errors  # nothing was checked yet
    done = client.post(REAUTH, {"password": PASSWORD, "code": last_code(NUMBER), "next": "/mfa/sms/"})
    assert done.url == "/mfa/sms/"


@pytest.mark.django_db(transaction=True)
def test_text_me_a_code_from_another_method_keeps_the_password_and_texts_at_once(sms_client):
    client, user = sms_client
    enrol(user)  # Google Authenticator comes first; Text Messages is the alternative
    let_step_up_window_pass()
    prompt = page(client.get(REAUTH, {"next": "/mfa/sms/"}))
    assert 'name="method" value="totp"' in prompt
    assert re.search(r'<button type="submit" form="reauth-form" name="use_method" value="sms"[^>]*>Text me a code<',
                     prompt)
    texts = texts_to(NUMBER)

    form = client.post(REAUTH, {"password": PASSWORD, "method": "totp", "use_method": "sms", "next": "/mfa/sms/"})

    assert f'value="{PASSWORD}"' in password_field(page(form))
    assert 'name="method" value="sms"' in page(form) and texts_to(NUMBER) == texts + 1


@pytest.mark.django_db(transaction=True)
def test_resend_button_sits_in_the_code_form_after_its_submit_button(sms_client):
    client, _user = sms_client
    let_step_up_window_pass()
    texts = texts_to(NUMBER)
    prompt = page(client.get(REAUTH, {"next": "/mfa/sms/"}))

    form = prompt[prompt.index('<form method="post" action="/account/reauthenticate/"'):]
    form = form[:form.index("</form>")]
    assert form.index(">Confirm</button>") < form.index('name="resend"')  # Enter confirms, never texts
    assert ">Text me a code</button>" in form and texts_to(NUMBER) == texts  # a GET texts nothing


def offered_methods(html: str) -> tuple[str, set[str]]:
    """Return the method a challenge page asks for and the labels of the others it offers."""
    current = re.search(r'name="method" value="([a-z_]+)"', html)[1]
    others = html[html.index('class="alternatives"'):]
    return current, set(re.findall(r">([^<>]+)</(?:a|button)>", others[:others.index("</div>")]))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("preferred", ["", "sms"])
def test_step_up_offers_every_method_as_sign_in_step_two_does(client, user, preferred):
    enrol_sms(user)
    enrol(user)
    codes = set_up_codes(user)
    if preferred:
        mfa_flows.set_default_method(None, user=user, method_key=preferred)
    start_sign_in(client, user)
    step_two = offered_methods(page(client.get(reverse("accounts:login_verify"))))
    client.post(reverse("accounts:login_verify"), {"method": "backup_codes", "code": codes[0]})
    let_step_up_window_pass()

    step_up_page = offered_methods(page(client.get(REAUTH, {"next": "/mfa/default/"})))

    assert step_up_page == step_two
    assert step_two[0] == (preferred or "totp")
    assert len(step_two[1]) == 2 and "Use a backup code" in step_two[1]
