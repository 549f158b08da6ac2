"""The outbox's "sms" channel: texts a queued code through the configured gateway.

A queued text is sent only while it is still the one its step is waiting
for: a text whose sign-in was cancelled, whose code was replaced by a newer
one ("Resend code"), or whose number is no longer the user's is dropped and
recorded, never sent. A text that cannot be sent gives its limit slots back
and takes its code with it, so no code is left usable that nobody received.
"""
from accounts import audit
from accounts.delivery import Channel, DeliveryError
from accounts.models import Delivery
from ctm_auth import clock
from mfa.sms import limits
from mfa.sms.app_settings import app_settings
from mfa.sms.gateways import GatewayError, TextMessage, get_gateway
from mfa.sms.models import SMSChallenge
from mfa.sms.phone import mask_number

METHOD_KEY = "sms"
SENT = "mfa.sms.sent"
SEND_FAILED = "mfa.sms.send_failed"
DROPPED = "mfa.sms.dropped"
# Steps whose text goes to the user's active number (a set-up or a new number
# texts the number being proved instead).
TEXTS_TO_THE_ACTIVE_NUMBER = frozenset({"sign_in", "reauth", "change_current"})


class SMSChannel(Channel):
    name = "sms"
    # A code is worth nothing after its few minutes of validity (the row's
    # deadline): retry fast, a few times, and give up.
    retry_cap = 60

    @property
    def retry_base(self) -> float:
        return app_settings.RETRY_BASE

    @property
    def max_attempts(self) -> int:
        return app_settings.SEND_ATTEMPTS

    def send(self, delivery: Delivery, payload: dict, connection) -> str:
        try:
            receipt = get_gateway().send(TextMessage(to=delivery.to, body=payload.get("body", "")))
        except GatewayError as error:
            raise DeliveryError(error.code, permanent=error.permanent, detail=error.detail) from None
        return receipt.reference

    def drop_reason(self, delivery: Delivery, payload: dict) -> str:
        challenge = SMSChallenge.objects.select_related("device").filter(pk=payload.get("challenge")).first()
        if challenge is None:
            return "cancelled"  # the sign-in was cancelled, the method removed, or the number changed
        if challenge.delivery_id != delivery.pk:
            return "superseded"  # "Resend code" replaced this code with a newer one
        if challenge.used_at is not None or clock.now() >= challenge.expires_at:
            return "expired"
        if challenge.number != delivery.to:
            return "number_changed"
        if payload.get("purpose") in TEXTS_TO_THE_ACTIVE_NUMBER and (
            challenge.device is None or challenge.device.number != delivery.to
        ):
            return "number_changed"  # the user's number changed after this text was queued
        return ""

    def on_sent(self, delivery: Delivery, payload: dict) -> None:
        audit.record(None, SENT, actor=delivery.user, target=delivery.user, method=METHOD_KEY,
                     client=_client(payload), data={
                         "to": mask_number(delivery.to), "purpose": payload.get("purpose", ""),
                         "gateway": get_gateway().name, "reference": delivery.reference or "",
                         "delivery": delivery.pk,
                     })

    def on_given_up(self, delivery: Delivery, payload: dict, error: DeliveryError) -> None:
        limits.Reservation.from_dict(payload.get("reservation") or {}).release()
        # An unsent code must not stay usable; the page now offers "Resend code".
        SMSChallenge.objects.filter(pk=payload.get("challenge"), delivery=delivery).update(code_hash="")
        event = DROPPED if delivery.state == "dropped" else SEND_FAILED
        audit.record(None, event, actor=delivery.user, target=delivery.user, method=METHOD_KEY,
                     client=_client(payload), data={
                         "error": error.code, "purpose": payload.get("purpose", ""), "to": mask_number(delivery.to),
                         "attempts": delivery.attempts, "state": delivery.state, "delivery": delivery.pk,
                         **error.detail,
                     })


def _client(payload: dict) -> tuple[str | None, str]:
    return payload.get("ip"), payload.get("user_agent", "")
