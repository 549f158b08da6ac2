"""Limits on texts, against cost and SMS pumping. All state is in the Django cache.

Before a text goes out, one slot is taken from each limit: the resend
cooldown, the user's window, and the daily caps per number, per client IP
and per agency. Slots are taken increment-first, so two workers racing for
the last slot cannot both win. A text that is then not sent (a Twilio
error) gives its slots back: a failed send must not count against the user.
"""
import math
from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.ratelimit import Limit
from ctm_auth import clock
from ctm_auth.faults import CACHE_ERRORS, CacheUnavailable
from mfa.sms.app_settings import app_settings

DAY = 24 * 60 * 60


class RefundableLimit(Limit):
    """A Limit whose slot is handed back (give_back) when no text went out."""


class Cooldown:
    """At least ``seconds`` between two texts for one step, measured from the last one.

    A fixed window would let two texts through a second apart across a
    window edge, and could not count down from the last text; this keeps
    the time of the last text (project clock) in the cache instead.
    """

    def __init__(self, scope: str, seconds: int):
        self.scope, self.seconds = scope, seconds

    def _key(self, identifier: str) -> str:
        return f"rl:{self.scope}:{identifier}"

    def remaining(self, identifier: str) -> int:
        """Seconds left (0 when the cache cannot say: ``claim`` still fails closed)."""
        try:
            last = cache.get(self._key(identifier))
        except CACHE_ERRORS:
            return 0
        if last is None:
            return 0
        return max(0, math.ceil(last + self.seconds - clock.timestamp()))

    def claim(self, identifier: str) -> tuple[int, float]:
        """Start the cooldown if it is over; return (seconds to wait or 0, the claim's time)."""
        if self.seconds <= 0:
            return 0, 0.0
        now, key = clock.timestamp(), self._key(identifier)
        try:
            if cache.add(key, now, timeout=self.seconds):  # atomic: one claimant wins
                return 0, now
        except CACHE_ERRORS:
            raise CacheUnavailable("cache") from None
        wait = self.remaining(identifier)
        if wait:
            return wait, 0.0
        # The entry outlived its time (the project clock was moved): replace it.
        cache.set(key, now, timeout=self.seconds)
        return 0, now

    def release(self, identifier: str, claimed_at: float) -> None:
        """Hand the cooldown back, if it is still this claim's (best effort: a refund)."""
        try:
            if claimed_at and cache.get(self._key(identifier)) == claimed_at:
                cache.delete(self._key(identifier))
        except CACHE_ERRORS:
            pass


def cooldown() -> Cooldown:
    return Cooldown("sms-cooldown", app_settings.RESEND_COOLDOWN)


def user_limit() -> RefundableLimit:
    texts, window = app_settings.USER_LIMIT
    return RefundableLimit("sms-user", texts, window)


def number_limit(*, verified: bool = True) -> RefundableLimit:
    """The per-number daily cap. Texts to a number nobody has proved they own
    (set-up, a new number) count in their own scope: otherwise anyone could
    "set up" a victim's number until the victim's own sign-in texts are refused."""
    scope = "sms-number-day" if verified else "sms-unverified-number-day"
    return RefundableLimit(scope, app_settings.NUMBER_DAILY_LIMIT, DAY)


def ip_limit() -> RefundableLimit:
    return RefundableLimit("sms-ip-day", app_settings.IP_DAILY_LIMIT, DAY)


def agency_limit() -> RefundableLimit:
    return RefundableLimit("sms-agency-day", app_settings.AGENCY_DAILY_LIMIT, DAY)


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def refusal_message(error: str, retry_after: int) -> str:
    """Return what the person reads when a limit stops a text; each names the way out."""
    if error == "cooldown":
        return ngettext(
            "Please wait %(seconds)d second before requesting another code.",
            "Please wait %(seconds)d seconds before requesting another code.",
            retry_after,
        ) % {"seconds": retry_after}
    if error == "user_limit":
        return ngettext(
            "You have requested too many codes. Try again in %(minutes)d minute, or use another method.",
            "You have requested too many codes. Try again in %(minutes)d minutes, or use another method.",
            _minutes(retry_after),
        ) % {"minutes": _minutes(retry_after)}
    if error == "number_limit":
        return _("This number has received too many codes today. Use another method, or try again tomorrow.")
    if error == "ip_limit":
        return _("Too many codes were requested from your network today. Use another method, or try again tomorrow.")
    return _("Your agency has reached its daily limit of text messages. Use another method, or try again tomorrow.")


@dataclass
class Reservation:
    """The slots taken for one text; ``release()`` gives them all back.

    It travels with the queued text (``as_dict``/``from_dict``), so the worker
    can refund a text it could not send.
    """

    cooldown_key: str
    claimed_at: float = 0.0
    taken: list[tuple[RefundableLimit, str, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"cooldown_key": self.cooldown_key, "claimed_at": self.claimed_at,
                "taken": [[limit.scope, limit.max_hits, limit.window, identifier, bucket]
                          for limit, identifier, bucket in self.taken]}

    @classmethod
    def from_dict(cls, data: dict) -> "Reservation":
        return cls(cooldown_key=data.get("cooldown_key", ""), claimed_at=data.get("claimed_at", 0.0), taken=[
            (RefundableLimit(scope, max_hits, window), identifier, bucket)
            for scope, max_hits, window, identifier, bucket in data.get("taken", [])
        ])

    def release(self) -> None:
        for limit, identifier, bucket in self.taken:
            limit.give_back(identifier, bucket)
        self.taken.clear()
        cooldown().release(self.cooldown_key, self.claimed_at)
        self.claimed_at = 0.0


@dataclass(frozen=True)
class Refusal:
    error: str  # "cooldown", "user_limit", "number_limit", "ip_limit", "agency_limit"
    retry_after: int

    @property
    def message(self) -> str:
        return refusal_message(self.error, self.retry_after)


def cooldown_key(user_id: int, binding: str) -> str:
    """The resend cooldown is per step: a sign-in text does not delay the next step-up's."""
    return f"{user_id}:{binding[:32]}"


def reserve(*, user_id: int, binding: str, number: str, ip: str, agency_ids: list[int],
            number_verified: bool = True) -> Reservation | Refusal:
    """Take one slot from every limit, or none at all when any of them refuses."""
    step_key = cooldown_key(user_id, binding)
    wait, claimed_at = cooldown().claim(step_key)
    if wait:
        return Refusal("cooldown", wait)
    reservation = Reservation(cooldown_key=step_key, claimed_at=claimed_at)
    checks = [
        ("user_limit", user_limit(), str(user_id)),
        ("number_limit", number_limit(verified=number_verified), number),
        ("ip_limit", ip_limit(), ip),
        *[("agency_limit", agency_limit(), str(agency_id)) for agency_id in agency_ids],
    ]
    for error, limit, identifier in checks:
        wait, bucket = limit.take(identifier)
        if wait:
            reservation.release()
            return Refusal(error, wait)
        reservation.taken.append((limit, identifier, bucket))
    return reservation
