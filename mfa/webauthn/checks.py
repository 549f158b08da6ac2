"""System checks: passkeys need their relying party named outside development.

A passkey is bound, when it is created, to the RP id (a domain). One that
was guessed from a request's Host header would bind users' keys to whatever
host a request came in on, so production must name it: these are errors,
run on every start-up (`manage.py check`, migrate, runserver), not only with --deploy.
"""
from urllib.parse import urlsplit

from django.core.checks import Error, Tags, register

from mfa.webauthn.app_settings import app_settings


@register(Tags.security)
def check_relying_party(app_configs, **kwargs) -> list:
    errors = []
    rp_id, origins = app_settings.RP_ID, app_settings.ORIGINS
    trusting_the_request = app_settings.TRUST_REQUEST_HOST  # development: what is unset comes from the request
    if not rp_id and not trusting_the_request:
        errors.append(Error("MFA_WEBAUTHN_RP_ID is not set: passkeys cannot be bound to this site's domain.",
                            hint="Set WEBAUTHN_RP_ID to the domain users sign in on, e.g. app.example.com.",
                            id="mfa_webauthn.E001"))
    if not origins and not trusting_the_request:
        errors.append(Error("MFA_WEBAUTHN_ORIGINS is not set: no origin may use passkeys.",
                            hint="Set WEBAUTHN_ORIGINS to the sign-in origins, e.g. https://app.example.com.",
                            id="mfa_webauthn.E002"))
    for origin in origins:
        parts = urlsplit(origin)
        host = parts.hostname or ""
        if parts.scheme != "https" and host != "localhost":
            errors.append(Error(f"MFA_WEBAUTHN_ORIGINS has {origin!r}: browsers allow passkeys on https only.",
                                id="mfa_webauthn.E003"))
        if rp_id and not (host == rp_id or host.endswith("." + rp_id)):
            errors.append(Error(f"{origin!r} is not on the RP id {rp_id!r} or a subdomain of it: "
                                "browsers would refuse every passkey there.", id="mfa_webauthn.E004"))
    return errors
