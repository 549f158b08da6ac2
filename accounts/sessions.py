"""Signed-in sessions a user can see and end: Profile › Active sessions.

Django's session rows cannot be listed by user, so every sign-in also writes
a UserSession row keyed by the final session key. The list shows only
sessions that still work: the Django session row exists and has not expired,
neither the idle nor the absolute timeout has passed, and the session's auth
hash still matches the user. A password change or an administrator's reset
ends the other sessions at their next request; the list must not show them
until then.

Ending a session deletes its Django session on the server (the cookie stops
working at once) and its UserSession row.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, logout, update_session_auth_hash
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import audit
from accounts.app_settings import app_settings
from accounts.client import client_ip, describe_browser, user_agent
from accounts.models import User, UserSession
from ctm_auth import clock
from ctm_auth.prepared import prepared

SESSION_REVOKED = "session.revoked"


@dataclass(frozen=True)
class SessionRow:
    """One line of the Profile's Active sessions."""

    id: int
    browser: str
    ip_address: str
    signed_in_at: datetime
    last_active_at: datetime
    is_current: bool


# --- what sign-in, activity and sign-out write ----------------------------------

def record_sign_in(request: HttpRequest, user: User) -> UserSession:
    """Write the row of the session ``login()`` has just signed in.

    Runs from user_logged_in, which login() sends after it rotated the
    session key, so the row carries the key the browser keeps. A session
    that login() flushed has no key until it is saved: save it now.
    """
    if request.session.session_key is None:
        request.session.save()
    now = clock.now()
    fields = {"user": user, "ip_address": client_ip(request), "user_agent": user_agent(request),
              "signed_in_at": now, "last_active_at": now}
    # login() has almost always just drawn this key, so an INSERT comes first;
    # only a sign-in again in a session already signed in as the user keeps it.
    try:
        with transaction.atomic():
            return UserSession.objects.create(session_key=request.session.session_key, **fields)
    except IntegrityError:
        row, _created = UserSession.objects.update_or_create(session_key=request.session.session_key, defaults=fields)
        return row


def record_activity(request: HttpRequest, at: float) -> None:
    """Move this session's "last active" to ``at``, the time its session just stored.

    Called only when SessionTimeoutMiddleware writes the activity time (at
    most once a minute), so the list and the idle timeout read the same time
    and an ordinary request costs no extra query.
    """
    UserSession.objects.filter(session_key=request.session.session_key).update(
        last_active_at=datetime.fromtimestamp(at, tz=dt_timezone.utc))


def forget_session(session_key: str | None) -> None:
    """Delete the row of a session that is ending (sign-out, or the timeout's sign-out)."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


# --- what the Profile lists ------------------------------------------------------

def active_sessions(user: User, *, current_key: str | None) -> list[SessionRow]:
    """Return ``user``'s working sessions, this one first, then the most recently active.

    One query whatever the number of sessions: the Django session's data
    comes with each row, and its auth hash is checked here, not by loading
    each session.
    """
    hashes = _session_auth_hashes(user)
    rows = [
        row for row in _candidate_rows(user)
        if _still_signed_in(_session_store().decode(row.session_data), user, hashes)
    ]
    listed = [_describe(row, current_key) for row in rows]
    return sorted(listed, key=lambda row: not row.is_current)


def active_session(user: User, *, session_id: int, current_key: str | None) -> SessionRow | None:
    """Return one of ``user``'s listed sessions, or None (another user's, or ended)."""
    return next((row for row in active_sessions(user, current_key=current_key) if row.id == session_id), None)


def _candidate_rows(user: User) -> list[UserSession]:
    """The user's rows within both timeouts whose Django session still exists, with its data."""
    now = clock.now()
    return _rows_with_session_data(
        user.pk,
        now - timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT),
        now - timedelta(seconds=app_settings.SESSION_MAX_AGE),
        timezone.now(),  # Django's own expiry, on Django's own clock (it set expire_date)
    )


@prepared  # the Profile asks it on every visit
def _rows_with_session_data(user_id: int, active_since: datetime, signed_in_since: datetime,
                            django_now: datetime) -> QuerySet[UserSession]:
    django_session = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=django_now)
    return (
        UserSession.objects.filter(user_id=user_id, last_active_at__gte=active_since,
                                   signed_in_at__gte=signed_in_since)
        .annotate(session_data=Subquery(django_session.values("session_data")[:1]))
        .filter(session_data__isnull=False)
        .only("id", "session_key", "ip_address", "user_agent", "signed_in_at", "last_active_at")
    )


def _session_auth_hashes(user: User) -> list[str]:
    """Return the hashes a session of ``user`` may hold: the current one, then SECRET_KEY_FALLBACKS'."""
    return [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]


def _still_signed_in(data: dict, user: User, hashes: list[str]) -> bool:
    """Tell whether Django would still sign this session in as ``user`` (django.contrib.auth.get_user)."""
    stored = data.get(HASH_SESSION_KEY) or ""
    return (data.get(SESSION_KEY) == str(user.pk) and bool(stored)
            and any(constant_time_compare(stored, candidate) for candidate in hashes))


def _describe(row: UserSession, current_key: str | None) -> SessionRow:
    return SessionRow(
        id=row.pk,
        browser=describe_browser(row.user_agent),
        ip_address=row.ip_address or "",
        signed_in_at=row.signed_in_at,
        last_active_at=row.last_active_at,
        is_current=bool(current_key) and constant_time_compare(row.session_key, current_key),
    )


# --- ending sessions ----------------------------------------------------------------

def revoke_session(request: HttpRequest, *, session_id: int) -> bool:
    """End one of the signed-in user's sessions; False when it is not theirs (nothing changes).

    Ending this very session is a sign-out: the browser is signed out here.
    """
    with transaction.atomic():
        row = UserSession.objects.select_for_update().filter(user=request.user, pk=session_id).first()
        if row is None:
            return False
        this_session = row.session_key == request.session.session_key
        _audit_revoked(request, row, this_session=this_session)
        if this_session:
            logout(request)  # flushes the session; user_logged_out deletes the row
        else:
            _end(row)
    return True


def revoke_other_sessions(request: HttpRequest) -> int:
    """End every session of the signed-in user but this one; return how many were listed.

    Each listed session is audited. Rows of sessions that had already ended
    are deleted without an audit row: nobody was signed out.
    """
    user, current_key = request.user, request.session.session_key
    with transaction.atomic():
        others = list(UserSession.objects.select_for_update().filter(user=user).exclude(session_key=current_key))
        listed = {row.id for row in active_sessions(user, current_key=current_key)}
        revoked = 0
        for row in others:
            if row.pk in listed:
                _audit_revoked(request, row, this_session=False)
                revoked += 1
            _end(row)
    return revoked


def end_sessions_of(user: User) -> None:
    """End every session of ``user`` now, not at its next request (an administrator's reset, a password reset)."""
    for row in UserSession.objects.filter(user=user):
        _end(row)


def keep_only_this_session(request: HttpRequest, *, user: User) -> None:
    """After a password change: keep this session signed in and end all others now.

    update_session_auth_hash stores the new hash and rotates this session's
    key, so this session's row follows the new key. The other sessions no
    longer match the password; deleting them now empties the list of them
    at once and makes their cookies worthless.
    """
    previous_key = request.session.session_key
    update_session_auth_hash(request, user)
    current_key = request.session.session_key
    UserSession.objects.filter(user=user, session_key=previous_key).update(session_key=current_key)
    for row in UserSession.objects.filter(user=user).exclude(session_key=current_key):
        _end(row)


def delete_ended_sessions() -> int:
    """Delete rows whose session ended without a next request to notice (the daily prune)."""
    now = clock.now()
    ended = (
        UserSession.objects.filter(last_active_at__lt=now - timedelta(seconds=app_settings.SESSION_IDLE_TIMEOUT))
        | UserSession.objects.filter(signed_in_at__lt=now - timedelta(seconds=app_settings.SESSION_MAX_AGE))
        | UserSession.objects.exclude(session_key__in=Session.objects.values("session_key"))
    )
    deleted, _by_model = ended.delete()
    return deleted


def _end(row: UserSession) -> None:
    """Delete the Django session through its engine (a cached engine forgets it too), then the row."""
    _session_store().delete(row.session_key)
    row.delete()


def _audit_revoked(request: HttpRequest, row: UserSession, *, this_session: bool) -> None:
    """Say which session was ended by its browser and address; the key itself is a credential."""
    audit.record(request, SESSION_REVOKED, data={
        "session_id": row.pk,
        "browser": describe_browser(row.user_agent),
        "ip_address": row.ip_address or "",
        "signed_in_at": row.signed_in_at.isoformat(),
        "this_session": this_session,
    })


def _session_store():
    """Return an empty store of the configured engine, for decoding and deleting by key."""
    return import_module(settings.SESSION_ENGINE).SessionStore()


# --- receivers (connected in AccountsConfig.ready) -------------------------------------

def on_user_logged_in(sender, request: HttpRequest, user: User, **kwargs) -> None:
    record_sign_in(request, user)


def on_user_logged_out(sender, request: HttpRequest, user: User | None, **kwargs) -> None:
    forget_session(request.session.session_key)


def on_user_saved(sender, instance: User, update_fields=None, **kwargs) -> None:
    """A rotated session stamp (User.end_all_sessions) ends every session now, not at its next request."""
    if update_fields and "session_stamp" in update_fields:
        end_sessions_of(instance)
