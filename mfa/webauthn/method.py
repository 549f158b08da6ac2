"""Passkeys and security keys (WebAuthn) as an MFA method (the registry's "webauthn").

The browser, not the person, answers its challenges: the step-2 and
step-up pages hold the answer in a hidden field that webauthn.js fills
(ChallengeContext.answered_by_browser). A discoverable passkey can also
sign in before any email is typed (signs_in_without_user).
"""
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mfa.base.method import ChallengeContext, Identification, Method, Purpose, VerifyResult
from mfa.webauthn import flows
from mfa.webauthn.app_settings import app_settings
from mfa.webauthn.models import WebAuthnCredential


class WebAuthnMethod(Method):
    key = "webauthn"
    label = gettext_lazy("Passkeys and security keys")
    is_primary = True
    manage_url_name = "mfa:webauthn:manage"
    urls_module = "mfa.webauthn.urls"
    alternative_label = gettext_lazy("Use your passkey or security key")
    phishing_resistant = True
    code_input_mode = "none"
    missing_answer_message = gettext_lazy(
        "Press “Use your passkey or security key” and follow your browser's prompt.")
    answer_too_long_message = gettext_lazy(
        "Your browser's answer was too large to be a passkey's. Try again, or use another method.")
    signs_in_without_user = True
    sign_in_template_name = "mfa/webauthn/sign_in.html"

    @property
    def answer_max_length(self) -> int:  # a signed assertion, in JSON: 1-3 KB
        return app_settings.MAX_ANSWER_BYTES

    def all_active_devices(self, *, now=None) -> QuerySet:
        return WebAuthnCredential.objects.filter(confirmed=True)

    def status_detail(self, user) -> str:
        count = self.active_devices(user).count()
        return ngettext("%(count)d key", "%(count)d keys", count) % {"count": count}

    def begin_challenge(self, request, user, *, purpose: Purpose, resend: bool = False) -> ChallengeContext:
        return ChallengeContext(
            "mfa/webauthn/challenge.html",
            context={"options": flows.authentication_options(request, user=user, purpose=purpose)},
            notice=_("Use a passkey or security key you added to this account."),
            answered_by_browser=True,
            submit_label=_("Use your passkey or security key"),
        )

    def verify(self, request, user, code: str, *, purpose: Purpose) -> VerifyResult:
        return flows.verify_assertion(request, user=user, answer=code, purpose=purpose)

    def sign_in_options(self, request) -> dict:
        return flows.sign_in_options(request)

    def identify(self, request, answer: str) -> Identification:
        return flows.identify(request, answer)
