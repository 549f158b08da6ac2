"""The interface of an MFA method.

A method is a sub-package of mfa/ (``mfa/totp/``, ``mfa/sms/``, ...) with a
``method.py`` holding a ``Method`` subclass, listed in settings.MFA_METHODS.
Sign-in step 2 and step-up re-authentication only talk to this interface.
"""
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

# Why a challenge is being answered. A code issued for one purpose (and one
# sign-in) must not be accepted for another.
Purpose = Literal["sign_in", "reauth"]


@dataclass(frozen=True)
class ChallengeContext:
    """What the step-2 page needs to show for a method's challenge."""

    template_name: str
    context: dict = field(default_factory=dict)
    notice: str = ""  # e.g. "We sent a code to •••• 1234"
    #: Buttons ("Resend code") the page puts inside its code form, after its
    #: submit button: they post what was typed (a password) along, and Enter
    #: still submits the code.
    actions_template_name: str = ""
    #: True when the browser, not the person, types the answer: a passkey
    #: ceremony, or a push approval the page waits for. The page then puts the
    #: answer in a hidden field, and ``template_name`` brings the script that
    #: fills it and submits the form, and says what to do without JavaScript.
    answered_by_browser: bool = False
    #: The label of the page's submit button ("" keeps "Verify" or "Confirm").
    submit_label: str = ""


@dataclass(frozen=True)
class Identification:
    """The outcome of a sign-in with no user named yet (a discoverable passkey).

    ``both_factors`` is True when the answer proved possession *and* the
    person (a PIN or a fingerprint checked by the authenticator); otherwise it
    counts as one factor and the password is still needed.
    """

    user: object | None = None
    device: object | None = None
    both_factors: bool = False
    error: str = ""
    message: str = ""
    #: On a refusal, the account the answer claimed to be (a known key whose
    #: signature or counter failed), so its owner sees the attempt in their
    #: sign-in activity; never signed in.
    claimed_user: object | None = None


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking a code. ``error`` is a stable code, not wording."""

    ok: bool
    device: object | None = None
    error: str = ""
    message: str = ""
    retry_after: int = 0  # seconds, when throttled
    extra: dict = field(default_factory=dict)


class Method:
    """Base class: subclasses set the class attributes and implement the hooks."""

    #: Stable identifier used in URLs, settings and the audit log.
    key: ClassVar[str]
    #: Label shown to users, as the seed article words it.
    label: ClassVar[str]
    #: Primary methods count as "two-factor enabled"; backup codes do not.
    is_primary: ClassVar[bool] = True
    #: URL name of the method's Add/Edit page, or None if it has none.
    manage_url_name: ClassVar[str | None] = None
    #: Dotted path of the method's URLconf, included under /mfa/<key>/.
    urls_module: ClassVar[str | None] = None
    #: Link text offering this method as an alternative on step 2 ("Use a backup code").
    alternative_label: ClassVar[str | None] = None
    #: True when begin_challenge can send a new code on request ("Resend code").
    can_resend: ClassVar[bool] = False
    #: True when every challenge costs money (a text): step 2 then never offers
    #: it first while another primary method is active, unless the user chose it.
    costs_per_challenge: ClassVar[bool] = False
    #: True when a look-alike site cannot relay the answer (a passkey is bound
    #: to this site's domain; a typed code is not): offered first at step 2.
    phishing_resistant: ClassVar[bool] = False
    #: The code field's inputmode: "numeric" brings up a digit keypad on phones,
    #: which cannot type a code with letters in it (backup codes use "text").
    code_input_mode: ClassVar[str] = "numeric"
    #: The longest answer accepted; a browser's answer (a signed assertion) is
    #: kilobytes, a typed code a few characters.
    answer_max_length: ClassVar[int] = 64
    #: What an empty answer is told.
    missing_answer_message: ClassVar[str] = gettext_lazy("Enter the code.")
    #: What an answer over answer_max_length is told ("" keeps Django's "Ensure this value has at most…").
    answer_too_long_message: ClassVar[str] = ""
    #: True when the method can find the user by itself (a discoverable
    #: passkey): the sign-in page then offers it before any email is typed,
    #: through sign_in_template_name, sign_in_options and identify.
    signs_in_without_user: ClassVar[bool] = False
    #: The sign-in page's block for it, given ``options_url``, ``answer_url`` and ``next``.
    sign_in_template_name: ClassVar[str] = ""
    #: False when a sign-in with it must not open the step-up window: an
    #: administrator's temporary access pass lets its user set up a new
    #: method, nothing more.
    opens_step_up: ClassVar[bool] = True
    #: False for a method the user does not set up themselves (a temporary
    #: access pass an administrator issues): the Profile's Multi-Factor
    #: Methods table and the method chooser leave it out.
    listed_on_profile: ClassVar[bool] = True
    #: The device table's columns whose change can turn the method on or off
    #: for its user (mfa.registry watches writes to them to keep its memo true).
    state_columns: ClassVar[tuple[str, ...]] = ("confirmed",)

    def all_active_devices(self, *, now=None) -> QuerySet:
        """Return every user's confirmed devices of this method (that work at ``now``, default now).

        Pages that list many users (Manage Users) and the two-factor policy
        build one SQL query from these querysets, whatever the user count.
        """
        raise NotImplementedError

    def user_facts(self) -> dict[str, QuerySet]:
        """Name querysets (of this method's rows, any user's) whose existence for a user pages ask about.

        mfa.registry loads them with the states (``user_fact``), so asking
        costs no query of its own.
        """
        return {}

    def user_values(self) -> dict[str, QuerySet]:
        """Name one-column querysets (of this method's rows, any user's) whose value for a user pages show.

        mfa.registry loads each one's value (its first row's in its order,
        None without one) with the states (``user_value``), so showing it
        costs no query.
        Its change must be a state change too (``state_columns``), or the
        value is kept until the next request.
        """
        return {}

    def active_devices(self, user) -> QuerySet:
        """Return the user's confirmed devices of this method.

        mfa.registry.active_devices_of, which pages use, compiles the same
        ``all_active_devices().filter(user=...)`` once: define which devices
        are active there, not here.
        """
        return self.all_active_devices().filter(user=user)

    def is_active_for(self, user) -> bool:
        from mfa.registry import method_states  # the registry imports this module

        return method_states(user).get(self.key, False)

    def device_identity(self, device) -> str:
        """Return what identifies ``device`` as set up now, for trusted browsers' fingerprint.

        A trusted browser stops working when any identity of the user's
        active devices changes, appears or goes. Override it when a device
        can be reconfigured in place (a new number, a new set of codes).
        """
        return device.persistent_id

    def status_detail(self, user) -> str:
        """Return a short, safe description for the profile (e.g. a masked number)."""
        return ""

    def status_warning(self, user) -> str:
        """Return a warning the Multi-Factor Methods table shows beside this method, or "".

        For what the user should still do ("No backup codes: ..."), whether
        or not this method is active.
        """
        return ""

    def continue_first_set_up(self, request: HttpRequest, user) -> str:
        """Start this method's part of set-up once the user's first primary method is on; return its page.

        Only a fallback method (backup codes) has one: the moment a first
        phone can be lost is the moment a way back in is needed. Return ""
        when there is nothing to show; the primary set-up has already
        committed, so this must refuse by returning "", never by raising.
        """
        return ""

    def signed_in_with(self, request: HttpRequest, user, device) -> None:
        """Called once a sign-in answered with this method completed (the session is the user's now).

        A temporary access pass marks the session so that the user sets up a
        new primary method before anything else.
        """

    def begin_challenge(
        self, request: HttpRequest, user, *, purpose: Purpose, resend: bool = False
    ) -> ChallengeContext:
        """Prepare the challenge (send a text, say) and return what to show.

        Called on every render of the challenge page, so it must be idempotent:
        a page refresh must not send another text while the last code is valid.
        ``resend`` is True only when the user pressed "Resend code".
        """
        raise NotImplementedError

    def verify(self, request: HttpRequest, user, code: str, *, purpose: Purpose) -> VerifyResult:
        """Check ``code`` for ``user``; must be replay-safe and throttled."""
        raise NotImplementedError

    def sign_in_options(self, request: HttpRequest) -> dict:
        """Return what the browser needs to start a sign-in with this method alone, as JSON.

        Fetched by the script of ``sign_in_template_name`` from the
        orchestration's ``options_url`` (so the sign-in page itself stays a
        plain form that needs no session, nor a database); the script posts
        its answer, as ``answer``, to ``answer_url``.
        """
        raise NotImplementedError

    def identify(self, request: HttpRequest, answer: str) -> Identification:
        """Find and check the user an answer to sign_in_options belongs to.

        Must be replay-safe; the caller limits attempts, audits and signs in.
        """
        raise NotImplementedError

    def remove_all(self, user) -> int:
        """Destroy every device and secret of this method for ``user``; return how many.

        Used by "Disable", by an administrator's reset, and to destroy backup
        codes once no primary method is left. Callers audit and notify.
        """
        deleted, _ = self.active_devices(user).model.objects.filter(user=user).delete()
        return deleted
