"""Querysets compiled once per process, bound anew on every call.

Building and compiling a queryset (filters resolved, joins set up, SQL
written) costs the ORM more CPU than PostgreSQL spends answering a small
indexed read. The pages every signed-in user opens (the Profile's sessions,
trusted browsers and sign-in activity) ask the same shapes of query on every
request, so each shape is compiled once per process and database:

    @prepared
    def _rows(user_id: int, since: datetime) -> QuerySet[Row]:
        return Row.objects.filter(user_id=user_id, created_at__gte=since)

    _rows(user.pk, clock.now() - timedelta(days=1))  # a RawQuerySet of Row

The function is called once with stand-ins, values no caller passes (an
``int`` far below any primary key, a ``datetime`` on 2 January 1970), and its
SQL is compiled; each call then puts its own values, prepared for the
database as the ORM prepares them, wherever the stand-ins were (a subquery
the ORM repeats in WHERE repeats its parameters). Every parameter must be
annotated ``int`` or ``datetime`` and used by the query; anything else the
query holds (constants, LIMIT) is part of its shape.
"""
import functools
import inspect
from collections.abc import Callable
from datetime import datetime
from datetime import timezone as dt_timezone

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet

_INT_STAND_IN_BASE = -(2**62) + 20261207


def _stand_in(kind: type, index: int):
    if kind is int:
        return _INT_STAND_IN_BASE + index
    if kind is datetime:
        return datetime(1970, 1, 2, 3, 4, 5, 100_000 + index, tzinfo=dt_timezone.utc)
    raise ImproperlyConfigured(f"a prepared query takes int and datetime parameters, not {kind!r}")


def _as_sent(connection, value):
    """``value`` as the ORM sends it to ``connection`` (a datetime is adapted per database)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return int(value)


class PreparedQuery:
    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self.kinds = [parameter.annotation for parameter in inspect.signature(build, eval_str=True).parameters.values()]
        self._compiled: dict[str, tuple] = {}
        functools.update_wrapper(self, build)
        _ALL.append(self)

    def __call__(self, *values, using: str = "default") -> RawQuerySet:
        sql, params, positions, model = self._compiled.get(using) or self._compile(using)
        connection = connections[using]
        bound = list(params)
        for at, value in zip(positions, values, strict=True):
            sent = _as_sent(connection, value)
            for position in at:
                bound[position] = sent
        return model._default_manager.raw(sql, bound).using(using)

    def _compile(self, using: str) -> tuple:
        connection = connections[using]
        stand_ins = [_stand_in(kind, index) for index, kind in enumerate(self.kinds)]
        queryset = self.build(*stand_ins).using(using)
        sql, params = queryset.query.sql_with_params()
        positions = []
        for stand_in in stand_ins:
            sent = _as_sent(connection, stand_in)
            found = [index for index, param in enumerate(params) if param == sent]
            if not found:
                raise ImproperlyConfigured(f"{self.build.__qualname__}: every parameter must be used by its query")
            positions.append(found)
        compiled = (sql, tuple(params), positions, queryset.model)
        self._compiled[using] = compiled
        return compiled

    def forget(self) -> None:
        self._compiled.clear()


_ALL: list[PreparedQuery] = []


def prepared(build: Callable[..., QuerySet]) -> PreparedQuery:
    """Compile ``build``'s queryset once per database; calling it returns a RawQuerySet of its model."""
    return PreparedQuery(build)


def _forget_on_settings_change(*, setting: str, **kwargs) -> None:
    # A test's override can change a query's shape (a limit, a table) or its database.
    for query in _ALL:
        query.forget()


setting_changed.connect(_forget_on_settings_change)
