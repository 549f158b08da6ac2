"""The enabled MFA methods, loaded once from settings.MFA_METHODS."""
import functools
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.module_loading import import_string

from ctm_auth import clock
from ctm_auth.prepared import CompiledSelect
from mfa.app_settings import app_settings
from mfa.base.method import Method


@functools.cache
def registry() -> dict[str, Method]:
    """Return the enabled MFA methods, keyed by their stable key, in settings order."""
    return {method.key: method for method in (import_string(path)() for path in app_settings.METHODS)}


def get_method(key: str) -> Method | None:
    return registry().get(key)


def all_methods() -> list[Method]:
    return list(registry().values())


def methods_signing_in_without_user() -> list[Method]:
    """Return the methods the sign-in page offers before any email is typed (a passkey)."""
    return [method for method in all_methods() if method.signs_in_without_user]


# --- every method's state for one user, in one query, once per request ------------
#
# Asking each method "does this user have a confirmed device?" costs one EXISTS
# per method, and a page asks it several times (the policy, the chooser, the
# Profile's table). Instead the states are read in one statement, usually the
# very one that loads the user (``load_user_with_states``, which
# accounts.backends uses), and kept on that user object. A request builds its
# user afresh, so the memo never outlives a request. Within a request any
# write that can change a state (a set-up, a reset, a used pass or code)
# moves ``_states_generation``, and the next question reads the states again:
# nothing decides on a state older than the last change. Methods' values a
# page shows (``Method.user_values``: Google Authenticator's "set up" date)
# come in the same statement and are kept the same way.

_STATE_PREFIX = "mfa_state_"
_VALUE_PREFIX = "mfa_value_"
_MEMO_ATTR = "_mfa_method_states"
_DEVICES_MEMO_ATTR = "_mfa_active_devices"
_states_generation = 0


def method_states_changed() -> None:
    """Say that some user's devices changed: every memo of states made before is stale."""
    global _states_generation
    _states_generation += 1


@functools.cache
def _state_writes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The quoted tables whose rows decide a method's state, and the quoted columns that do.

    The tables are each method's device table and those pointing at it (a
    set's codes); the columns are the methods' ``state_columns``.
    """
    tables, columns = set(), {'"user_id"'}
    for method in all_methods():
        model = method.all_active_devices().model
        tables.add(f'"{model._meta.db_table}"')
        tables.update(f'"{related.related_model._meta.db_table}"' for related in model._meta.related_objects)
        columns.update(f'"{column}"' for column in method.state_columns)
    return tuple(sorted(tables)), tuple(sorted(columns))


def _changes_a_state(sql: str) -> bool:
    verb = sql[:6].upper()
    if verb not in ("INSERT", "UPDATE", "DELETE"):
        return False
    tables, columns = _state_writes()
    if not any(table in sql for table in tables):
        return False
    if verb != "UPDATE":
        return True
    # An UPDATE changes a state only through a state column: a code's use
    # (last_t, sign_count, throttling) is no change, so a sign-in keeps its memo.
    assignments = sql.split(" WHERE ", 1)[0]
    return any(f"{column} =" in assignments for column in columns)


def _watch_state_writes(execute, sql, params, many, context):
    """A database execute wrapper: a write that can change a state makes every memo of states stale.

    Watching the statements, not the flows, is what makes it complete: a
    QuerySet.update() or bulk_create() sends no model signal, and a new flow
    cannot forget to say it changed a device.
    """
    if _changes_a_state(sql):
        method_states_changed()
    return execute(sql, params, many, context)


def watch_connection(connection, **kwargs) -> None:
    """connection_created receiver: put the watch first, so that a caller's execute_wrapper() pops its own."""
    if _watch_state_writes not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _watch_state_writes)


def state_annotations(user_ref: str = "pk", *, now=None) -> dict[str, Exists]:
    """The annotations that load every method's state and fact (at ``now``) with the user ``user_ref`` points at."""
    now = clock.now() if now is None else now
    return {f"{_STATE_PREFIX}{name}": exists for name, exists in _exists_per_state(user_ref, now).items()}


# --- the same, as a prepared statement ---------------------------------------
#
# Building that query through the ORM (seven EXISTS, resolved and compiled)
# costs more CPU than PostgreSQL spends answering it, on every request of a
# signed-in user. So it is compiled once per database and lookup, with
# stand-ins for its two parameters, the user (by id or by email) and the
# time; each request binds the real ones, prepared as the ORM would. The
# stand-ins are values no request can have.
_NOW_STAND_IN = datetime(1970, 1, 2, 3, 4, 5, 678901, tzinfo=dt_timezone.utc)
# The user lookups that may vary: (stand-in, how the ORM prepares a value for the database).
_USER_LOOKUPS = {
    "pk": (-(2**62) + 20261204, lambda connection, value: int(value)),
    # IExact.process_rhs: LIKE-escaped on SQLite, as typed on PostgreSQL.
    "email__iexact": ("zqxstandinzqx", lambda connection, value: connection.ops.prep_for_iexact_query(str(value))),
}


@dataclass(frozen=True)
class _OneUsersQuery:
    """A statement compiled once with stand-ins for its user and its time, bound per call."""

    select: CompiledSelect
    user_at: int
    now_at: tuple[int, ...]  # empty when the answer does not depend on the time

    @classmethod
    def of(cls, queryset, *, user_stand_in, using: str) -> "_OneUsersQuery":
        select = CompiledSelect.of(queryset, using)
        user_at = select.positions_of(user_stand_in)
        if len(user_at) != 1:
            raise ImproperlyConfigured(f"a prepared query of one user must name the user once: {select.sql}")
        now_at = select.positions_of(connections[using].ops.adapt_datetimefield_value(_NOW_STAND_IN))
        return cls(select, user_at[0], tuple(now_at))

    def fetch(self, user_value, *, using: str) -> list:
        """Run it for ``user_value`` (as sent to the database), now."""
        replacements = [((self.user_at,), user_value)]
        if self.now_at:
            replacements.append((self.now_at, connections[using].ops.adapt_datetimefield_value(clock.now())))
        return self.select.fetch_with(replacements, using=using)


@functools.cache
def _prepared_user_query(using: str, lookup: str, constant_lookups: tuple) -> _OneUsersQuery:
    stand_in = _USER_LOOKUPS[lookup][0]
    query = (get_user_model()._default_manager
             .annotate(**state_annotations("pk", now=_NOW_STAND_IN), **_value_annotations("pk"))
             .filter(**{lookup: stand_in}, **dict(constant_lookups))[:1])
    return _OneUsersQuery.of(query, user_stand_in=stand_in, using=using)


def load_user_with_states(*, using: str = "default", **lookups):
    """Return the one user matching ``lookups`` with its states kept on it, or None.

    One of the lookups is ``pk`` or ``email__iexact`` (the value varies);
    others (``is_active=True``) are part of the prepared statement.
    """
    [lookup] = [name for name in lookups if name in _USER_LOOKUPS]
    value = lookups.pop(lookup)
    try:
        value = _USER_LOOKUPS[lookup][1](connections[using], value)
    except (TypeError, ValueError):
        return None
    query = _prepared_user_query(using, lookup, tuple(sorted(lookups.items())))
    generation = _states_generation  # read before the query: a change during it makes the memo stale
    user = next(iter(query.fetch(value, using=using)), None)
    if user is not None:
        _remember_loaded_states(user, generation)
    return user


def _remember_loaded_states(user, generation: int) -> None:
    """Keep the states and values the user-with-states query loaded onto ``user`` as its memo."""
    loaded = {name: bool(getattr(user, f"{_STATE_PREFIX}{name}")) for name in _state_names()}
    loaded |= {name: getattr(user, f"{_VALUE_PREFIX}{name}") for name in _value_names()}
    setattr(user, _MEMO_ATTR, (generation, loaded))


def method_states(user) -> dict[str, bool]:
    """Return {method key: whether ``user`` has it active}, one query at most per change."""
    loaded = _loaded_states(user)
    return {key: loaded[key] for key in registry()}


def user_fact(user, name: str) -> bool:
    """Return whether a method's ``user_facts()`` query ``name`` has a row for ``user``."""
    return _loaded_states(user).get(name, False)


def user_value(user, name: str):
    """Return the value a method's ``user_values()`` query ``name`` has for ``user`` (None without a row)."""
    return _loaded_states(user).get(name)


def _loaded_states(user) -> dict:
    if getattr(user, "pk", None) is None:  # anonymous or unsaved
        return dict.fromkeys(_state_names(), False)
    memo = getattr(user, _MEMO_ATTR, None)
    if memo is not None and memo[0] == _states_generation:
        return memo[1]
    generation = _states_generation  # read before the query: a change during it makes the memo stale
    fresh = load_user_with_states(pk=user.pk)
    loaded = getattr(fresh, _MEMO_ATTR, (0, dict.fromkeys(_state_names(), False)))[1]
    setattr(user, _MEMO_ATTR, (generation, loaded))
    return loaded


def active_devices_of(user, method: Method) -> list:
    """Return ``user``'s active devices of ``method``, read once per request until a device changes.

    A trusted browser's fingerprint asks for every method's (at sign-in, and
    on the Profile when the user trusts a browser); a method the states say
    is off costs no query at all.
    """
    if not method.is_active_for(user):
        return []
    memo = getattr(user, _DEVICES_MEMO_ATTR, None)
    if memo is None:
        memo = {}
        setattr(user, _DEVICES_MEMO_ATTR, memo)
    cached = memo.get(method.key)
    if cached is not None and cached[0] == _states_generation:
        return cached[1]
    generation = _states_generation
    using = user._state.db or DEFAULT_DB_ALIAS
    devices = _prepared_devices_query(using, method.key).fetch(int(user.pk), using=using)
    memo[method.key] = (generation, devices)
    return devices


@functools.cache
def _prepared_devices_query(using: str, key: str) -> _OneUsersQuery:
    """``Method.active_devices`` (its ``all_active_devices`` of one user), compiled once per process."""
    stand_in = _USER_LOOKUPS["pk"][0]
    devices = registry()[key].all_active_devices(now=_NOW_STAND_IN).filter(user_id=stand_in)
    return _OneUsersQuery.of(devices, user_stand_in=stand_in, using=using)


@functools.cache
def _state_names() -> tuple[str, ...]:
    return (*registry(), *(name for method in all_methods() for name in method.user_facts()))


@functools.cache
def _value_names() -> tuple[str, ...]:
    return tuple(name for method in all_methods() for name in method.user_values())


def _value_annotations(user_ref: str) -> dict[str, Subquery]:
    """Each method's ``user_values()``: the first row's value (in its order) for the user ``user_ref`` points at."""
    return {f"{_VALUE_PREFIX}{name}": Subquery(rows.filter(user=OuterRef(user_ref))[:1])
            for method in all_methods() for name, rows in method.user_values().items()}


def _exists_per_method(user_ref: str, now) -> dict[str, Exists]:
    """One EXISTS per method, named by its key: the user ``user_ref`` points at has it active at ``now``."""
    return {method.key: Exists(method.all_active_devices(now=now).filter(user=OuterRef(user_ref)))
            for method in all_methods()}


def _exists_per_state(user_ref: str, now) -> dict[str, Exists]:
    """One EXISTS per method (named by its key) and per method's fact (named by the fact)."""
    facts = {name: Exists(rows.filter(user=OuterRef(user_ref)))
             for method in all_methods() for name, rows in method.user_facts().items()}
    return _exists_per_method(user_ref, now) | facts


def active_methods(user) -> list[Method]:
    """Return the methods the user can answer a challenge with, in settings order."""
    if getattr(user, "pk", None) is None:  # anonymous or unsaved
        return []
    states = method_states(user)
    return [method for method in all_methods() if states.get(method.key)]


def has_primary_method(user) -> bool:
    """Return True when the user has two-factor authentication enabled."""
    return any(method.is_primary for method in active_methods(user))


def default_method(user, methods: list[Method] | None = None) -> Method | None:
    """Return the method step 2 offers first: the user's choice, else the first primary.

    A method that costs per challenge (a text) comes first only when the user
    chose it or it is their only primary method; a phishing-resistant one
    (a passkey) comes before the others. A recovery method (backup
    codes) is never the choice, even if an older version stored it.
    """
    methods = active_methods(user) if methods is None else methods
    by_key = {method.key: method for method in methods if method.is_primary}
    if user.preferred_mfa_method in by_key:
        return by_key[user.preferred_mfa_method]
    # A phishing-resistant method (a passkey) first, as GitHub and Google do;
    # one that costs per challenge (a text) last.
    primaries = sorted((m for m in methods if m.is_primary),
                       key=lambda m: (m.costs_per_challenge, not m.phishing_resistant))
    return next(iter(primaries), methods[0] if methods else None)


def active_method_annotations(user_ref: str) -> dict[str, Exists]:
    """Return one ``has_<key>`` EXISTS per enabled method for the user ``user_ref`` points at.

    Lets a query over many users (or one user plus other facts) learn every
    method's state in the same SQL statement.
    """
    return {f"has_{key}": exists for key, exists in _exists_per_method(user_ref, clock.now()).items()}


def has_primary_method_condition() -> Q:
    """Return a condition on ``active_method_annotations`` that is true with a primary method."""
    condition = Q(pk__in=[])  # false when no primary method is enabled
    for method in all_methods():
        if method.is_primary:
            condition |= Q(**{f"has_{method.key}": True})
    return condition


def primary_method_user_condition(user_ref: str = "user_id") -> Q:
    """True for rows whose user (``user_ref``) has a primary method, as ``IN (SELECT user_id ...)`` lists.

    For counting or filtering many rows at once (Manage Users over 10,000
    members): PostgreSQL reads each method's devices once into a hash,
    where ``has_primary_method_condition``'s EXISTS probes an index per row.
    """
    condition = Q(pk__in=[])  # false when no primary method is enabled
    for method in all_methods():
        if method.is_primary:
            condition |= Q(**{f"{user_ref}__in": method.all_active_devices().values("user_id")})
    return condition


def _clear_on_settings_change(*, setting: str, **kwargs) -> None:
    if setting in ("MFA_METHODS", "DATABASES"):
        registry.cache_clear()
        _state_names.cache_clear()
        _value_names.cache_clear()
        _prepared_user_query.cache_clear()
        _prepared_devices_query.cache_clear()
        _state_writes.cache_clear()


setting_changed.connect(_clear_on_settings_change)
