"""Querysets compiled once per process, bound anew on every call.

Building and compiling a queryset (filters resolved, joins set up, SQL
written) costs the ORM more CPU than PostgreSQL spends answering a small
indexed read. The pages every signed-in user opens (the Profile's sessions,
trusted browsers and sign-in activity) ask the same shapes of query on every
request, so each shape is compiled once per process and database:

    @prepared
    def _rows(user_id: int, since: datetime) -> QuerySet[Row]:
        return Row.objects.filter(user_id=user_id, created_at__gte=since)

    _rows(user.pk, clock.now() - timedelta(days=1))  # a list of Row

The function is called once with stand-ins, values no caller passes (an
``int`` far below any primary key, a ``datetime`` on 2 January 1970), and its
SQL is compiled; each call then puts its own values, prepared for the
database as the ORM prepares them, wherever the stand-ins were (a subquery
the ORM repeats in WHERE repeats its parameters). Every parameter must be
annotated ``int`` or ``datetime`` and used by the query; anything else the
query holds (constants, LIMIT) is part of its shape.

The rows come back as model instances, as the queryset would give them
(``CompiledSelect``: Django's ModelIterable without the compile), not through
``Model.objects.raw()``: a RawQuerySet maps its columns to fields anew on
every call, which cost as much CPU again as the statement's round trip.
"""
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections
from django.db.models import Model, QuerySet

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


@dataclass(frozen=True)
class CompiledSelect:
    """A model queryset's SQL, compiled once, and how its rows become instances (as Django's ModelIterable)."""

    sql: str
    params: tuple
    model: type[Model]
    #: The model's columns in the row (``.only()`` leaves the others deferred), and where they are.
    field_names: tuple[str, ...]
    fields_at: slice
    #: (attribute, position) of each annotation: ``.annotate(session_data=...)`` becomes ``row.session_data``.
    annotations: tuple[tuple[str, int], ...]
    #: (position, (converters, expression)) of each column the database backend converts (SQLite's datetimes).
    converters: tuple

    @classmethod
    def of(cls, queryset: QuerySet, using: str) -> "CompiledSelect":
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()  # fills compiler.select, klass_info and annotation_col_map
        klass_info = compiler.klass_info
        if klass_info.get("related_klass_infos") or queryset._prefetch_related_lookups:
            raise ImproperlyConfigured("a compiled query loads one model: no select_related or prefetch_related")
        select_fields = klass_info["select_fields"]
        fields_at = slice(select_fields[0], select_fields[-1] + 1)
        columns = [column for column, _sql, _alias in compiler.select[:compiler.col_count]]
        return cls(
            sql=sql, params=tuple(params), model=queryset.model,
            field_names=tuple(column.target.attname for column, _sql, _alias in compiler.select[fields_at]),
            fields_at=fields_at, annotations=tuple(compiler.annotation_col_map.items()),
            converters=tuple(compiler.get_converters(columns).items()),
        )

    def positions_of(self, sent) -> list[int]:
        """Where a stand-in (as sent to the database) is among the statement's parameters."""
        return [index for index, param in enumerate(self.params) if param == sent]

    def fetch_with(self, replacements: Iterable[tuple[Iterable[int], object]], *, using: str) -> list:
        """Run the statement with each (positions, value) put in place of its stand-in; see ``fetch``."""
        bound = list(self.params)
        for positions, value in replacements:
            for position in positions:
                bound[position] = value
        return self.fetch(bound, using=using)

    def fetch(self, params: list, *, using: str) -> list:
        """Run the statement with ``params`` and return its rows as model instances."""
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        instances = []
        for row in rows:
            if self.converters:
                row = list(row)
                for position, (converters, expression) in self.converters:
                    for converter in converters:
                        row[position] = converter(row[position], expression, connection)
            instance = self.model.from_db(using, self.field_names, row[self.fields_at])
            for name, position in self.annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances


class PreparedQuery:
    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self.kinds = [parameter.annotation for parameter in inspect.signature(build, eval_str=True).parameters.values()]
        self._compiled: dict[str, tuple[CompiledSelect, list[list[int]]]] = {}
        functools.update_wrapper(self, build)
        _ALL.append(self)

    def __call__(self, *values, using: str = "default") -> list:
        select, positions = self._compiled.get(using) or self._compile(using)
        connection = connections[using]
        sent = [_as_sent(connection, value) for value in values]
        return select.fetch_with(zip(positions, sent, strict=True), using=using)

    def _compile(self, using: str) -> tuple[CompiledSelect, list[list[int]]]:
        connection = connections[using]
        stand_ins = [_stand_in(kind, index) for index, kind in enumerate(self.kinds)]
        select = CompiledSelect.of(self.build(*stand_ins), using)
        positions = []
        for stand_in in stand_ins:
            found = select.positions_of(_as_sent(connection, stand_in))
            if not found:
                raise ImproperlyConfigured(f"{self.build.__qualname__}: every parameter must be used by its query")
            positions.append(found)
        self._compiled[using] = (select, positions)
        return select, positions

    def forget(self) -> None:
        self._compiled.clear()


_ALL: list[PreparedQuery] = []


def prepared(build: Callable[..., QuerySet]) -> PreparedQuery:
    """Compile ``build``'s queryset once per database; calling it returns a list of its model's instances."""
    return PreparedQuery(build)


def _forget_on_settings_change(*, setting: str, **kwargs) -> None:
    # A test's override can change a query's shape (a limit, a table) or its database.
    for query in _ALL:
        query.forget()


setting_changed.connect(_forget_on_settings_change)
