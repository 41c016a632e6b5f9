"""Write many rows in one statement, with ids known before the rows go in.

A batch writes thousands of rows while it holds SQLite's only write lock, so
every microsecond per row is a microsecond every other writer waits. Two
things keep the hold short: ids are reserved up front, so a few statements
write rows that refer to each other (an outbox row and its parts, a complaint
and its SMS); and the statement is compiled once and fed plain tuples,
skipping SQLAlchemy's per-row parameter handling, which costs more than the
database's own insert. SQLite and MariaDB (mysqlclient) get multi-row INSERTs,
PostgreSQL COPY; other drivers go through SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import itertools
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

_Processor = Callable[[Any], Any] | None

IN_LIST = 500  # values per IN (...) list


def chunks(values: Iterable[Any]) -> list[list[Any]]:
    """Cut distinct values, sorted, into lists short enough for one IN (...)."""
    ordered = sorted(set(values))
    return [ordered[start : start + IN_LIST] for start in range(0, len(ordered), IN_LIST)]


class OneOf(ColumnElement[Any]):
    """``column IN (...)`` over the values of one list parameter, ``name``.

    Pass the values with ``in_lists``. SQLAlchemy expands a list parameter
    into one bound value per element on every execution, which costs more
    than the query: SQLite gets the list as one JSON text instead, and
    PostgreSQL as one array. Other databases get the expanded list.
    """

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration style
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]
    # Not Boolean: dialects without a boolean type would render "IN (...) = 1".
    type: sa.types.TypeEngine[Any] = sa.types.NullType()

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


@compiles(OneOf)
def _one_of_expanded(element: OneOf, compiler: Any, **kw: Any) -> str:
    expanding: sa.BindParameter[Any] = sa.bindparam(element.name, expanding=True)
    return str(compiler.process(element.column.in_(expanding), **kw))


@compiles(OneOf, "sqlite")
def _one_of_json(element: OneOf, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    text = compiler.process(sa.bindparam(element.name, type_=sa.String()), **kw)
    return f"{column} IN (SELECT value FROM json_each({text}))"


@compiles(OneOf, "postgresql")
def _one_of_array(element: OneOf, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    array = compiler.process(sa.bindparam(element.name), **kw)
    return f"{column} = ANY({array})"


def in_lists(conn: sa.Connection, values: Iterable[Any]) -> list[Any]:
    """Return the parameter values that cover ``values`` for a ``OneOf``, one per query.

    Distinct values only; no query at all for none.
    """
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return chunks(values)
    distinct = sorted(set(values))
    if not distinct:
        return []
    return [json.dumps(distinct) if dialect == "sqlite" else distinct]


def reserve_ids(
    conn: sa.Connection, table: sa.Table, count: int, autoincrement: bool = False
) -> list[int] | None:
    """Return ``count`` unused primary key values for ``table``, lowest first.

    On SQLite the caller must hold the write lock (a ``BEGIN IMMEDIATE``
    transaction): nobody else can insert until it commits, so the next ids are
    simply the ones after the highest in use. ``autoincrement`` says the table
    was declared ``AUTOINCREMENT``, whose ids are never reused even after the
    row with the highest one was deleted. On PostgreSQL the ids come from the
    column's sequence. Elsewhere (MariaDB) the database picks ids only as it
    inserts, and this returns None.
    """
    if count <= 0:
        return []
    key = _key_column(table)
    dialect = conn.dialect.name
    if dialect == "sqlite":
        top = conn.execute(_sqlite_top(table, autoincrement)).scalar_one()
        return list(range(int(top) + 1, int(top) + 1 + count))
    if dialect == "postgresql":
        # Straight to the driver: this runs twice in every batch, and
        # SQLAlchemy's handling of the statement costs more than the server.
        sql = "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
        with _cursor(conn, sql) as cursor:
            cursor.execute(sql, (table.name, key.name, count))
            return sorted(int(value) for (value,) in cursor.fetchall())
    return None


def insert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all name the same columns, in one statement.

    The rows name every column that has no server default: SQLAlchemy's own
    column defaults are not applied on the direct paths.
    """
    if rows:
        insert_values(conn, table, *_as_values(rows))


def _as_values(
    rows: Sequence[dict[str, Any]],
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Return the columns the rows name, and each row's values in their order."""
    columns = tuple(rows[0])
    take = operator.itemgetter(*columns)
    plain = [(take(row),) for row in rows] if len(columns) == 1 else list(map(take, rows))
    return columns, plain


def insert_values(
    conn: sa.Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows given as values in the order of ``columns``."""
    if not rows:
        return
    dialect = conn.dialect
    if dialect.driver not in _DRIVERS.get(dialect.name, ()):
        conn.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    sql, processors = _compiled(dialect, table, columns)
    values = _converted(rows, processors)
    if dialect.name == "sqlite":
        _insert_sqlite(conn, sql, len(columns), values)
    elif dialect.name == "postgresql":
        _copy_postgresql(conn, sql, values)
    else:
        _insert_mysqldb(conn, sql, values)


def inserted_ids(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows whose ids the database picks; return the ids in the order given.

    Where ``reserve_ids`` cannot reserve (MariaDB). One multi-row INSERT ...
    RETURNING where the database has it (MariaDB 10.5 and later): ids are
    handed out in row order within one statement. Elsewhere (MySQL) a
    statement per row, a round trip each. As with ``insert``, the rows name
    every column that has no server default: SQLAlchemy's defaults are not
    applied.
    """
    if not rows:
        return []
    key = _key_column(table)
    dialect = conn.dialect
    if dialect.driver == "mysqldb" and dialect.insert_returning:
        columns, plain = _as_values(rows)
        sql, processors = _compiled(dialect, table, columns)
        returning = f" RETURNING {dialect.identifier_preparer.quote(key.name)}"
        return _insert_mysqldb(conn, sql, _converted(plain, processors), returning)
    if dialect.insert_returning:
        query = sa.insert(table).returning(key, sort_by_parameter_order=True)
        return [int(value) for value in conn.execute(query, list(rows)).scalars()]
    ids = []
    for row in rows:
        (new_id,) = conn.execute(sa.insert(table), row).inserted_primary_key or (None,)
        if new_id is None:
            raise RuntimeError(f"the database returned no {table.name} id")
        ids.append(int(new_id))
    return ids


def _copy_postgresql(conn: sa.Connection, sql: str, values: Sequence[Sequence[Any]]) -> None:
    """Send rows with COPY: less work for both sides than a multi-row INSERT.

    psycopg2 quotes every value of an INSERT through its adapters, and the
    server parses each one as SQL; COPY's text format is a line per row, and
    cost a third less CPU here and a third of the time in all.
    """
    lines = ["\t".join(map(_copy_field, row)) for row in values]
    with _cursor(conn, sql) as cursor:
        cursor.copy_expert(sql, io.StringIO("\n".join(lines) + "\n"))


@contextlib.contextmanager
def _cursor(conn: sa.Connection, sql: str) -> Iterator[Any]:
    """Lend a driver cursor on the caller's transaction.

    Its errors are raised as SQLAlchemy's, as a statement run through the
    connection would raise them, so that a lost server reads as one (see
    ``retry.is_transient``) and its connection is not used again.
    """
    dialect = conn.dialect
    dbapi_conn = conn.connection.dbapi_connection
    cursor = dbapi_conn.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_conn, cursor)
        if lost:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost,
            dialect=dialect,
        ) from exc
    finally:
        if not conn.invalidated:
            cursor.close()


# COPY's text format escapes these four; everything else is sent as it is.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """Write one value in COPY's text format (NULL is \\N)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float, dt.datetime)):
        return str(value)  # a naive datetime reads as a timestamp without zone
    raise TypeError(f"no COPY text for a {type(value).__name__} value")


# The drivers this module feeds directly, skipping SQLAlchemy's per-row work.
_DRIVERS = {
    "sqlite": ("pysqlite",),
    "postgresql": ("psycopg2",),
    "mysql": ("mysqldb",),  # PyMySQL, kept for old configs, goes through SQLAlchemy
}
# The fewest "?" any SQLite build takes in one statement (newer ones take more).
SQLITE_VARIABLES = 999


def _insert_sqlite(
    conn: sa.Connection, sql: str, width: int, values: Sequence[Sequence[Any]]
) -> None:
    """Insert rows many to a statement rather than one statement per row.

    SQLite runs a statement's set-up once per execution; for gammu's outbox
    that includes the lookup tables of its CHECK (... IN (...)) constraints,
    which made a row inserted through ``executemany`` cost twice as much.
    """
    per = max(1, SQLITE_VARIABLES // width)
    for start in range(0, len(values), per):
        chunk = values[start : start + per]
        flat = tuple(itertools.chain.from_iterable(chunk))
        conn.exec_driver_sql(_sqlite_rows(sql, width, len(chunk)), flat)


# Bytes of values per MariaDB statement: far below max_allowed_packet (16 MiB by
# default), whatever a batch of long complaints weighs.
MYSQL_STATEMENT_BYTES = 1 << 20


def _insert_mysqldb(
    conn: sa.Connection, sql: str, values: Sequence[Sequence[Any]], returning: str = ""
) -> list[int]:
    """Insert rows many to a statement; with ``returning``, return the new ids.

    The rows are written out as SQL literals by the driver's own quoting:
    mysqlclient quotes every parameter in Python, through a chain of type
    checks that cost more than the rest of the insert; here strings go
    straight to its C quoting, and the batch's few distinct time stamps are
    quoted once. Ids come back in insertion order, ascending (the
    auto-increment hands them out in row order within one statement).
    """
    dbapi_conn = conn.connection.dbapi_connection
    literal = _Literals(dbapi_conn)
    rows = [b"(" + b", ".join(map(literal, row)) + b")" for row in values]
    head, tail = sql.encode(), returning.encode()
    ids: list[int] = []
    with _cursor(conn, sql) as cursor:
        for chunk in _chunks(rows):
            cursor.execute(head + b", ".join(chunk) + tail)  # no parameters: no % parsing
            if returning:
                ids += sorted(int(value) for (value,) in cursor.fetchall())
    return ids


class _Literals:
    """Write values as MariaDB SQL literals, with the connection's own quoting."""

    def __init__(self, dbapi_conn: Any) -> None:
        self._quote = dbapi_conn.string_literal  # escapes for the connection's charset
        self._literal = dbapi_conn.literal
        self._done: dict[tuple[type, Any], bytes] = {}

    def __call__(self, value: Any) -> bytes:
        kind = value.__class__
        if kind is str:
            quoted: bytes = self._quote(value.encode("utf-8"))
            return quoted
        if value is None:
            return b"NULL"
        if kind is int:
            return b"%d" % value
        key = (kind, value)
        try:
            return self._done[key]
        except KeyError:
            done: bytes = self._literal(value)
            self._done[key] = done
            return done


def _chunks(rows: Sequence[bytes]) -> Iterator[Sequence[bytes]]:
    """Cut rows into runs of at most MYSQL_STATEMENT_BYTES (one row at least)."""
    start = size = 0
    for index, row in enumerate(rows):
        if size + len(row) > MYSQL_STATEMENT_BYTES and index > start:
            yield rows[start:index]
            start, size = index, 0
        size += len(row)
    if start < len(rows):
        yield rows[start:]


@functools.lru_cache(maxsize=256)
def _sqlite_rows(sql: str, width: int, count: int) -> str:
    """Return the single-row INSERT ``sql`` made to take ``count`` rows."""
    row = "(" + ", ".join("?" * width) + ")"
    return sql + ", " + ", ".join([row] * (count - 1)) if count > 1 else sql


def _converted(
    plain: Sequence[Sequence[Any]], processors: tuple[_Processor, ...]
) -> Sequence[Sequence[Any]]:
    """Return the rows' values converted for the driver."""
    # Rows of a batch share many values (its time stamps): convert each once.
    converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (index, process, {}) for index, process in enumerate(processors) if process
    ]
    if not converting:
        return plain
    out: list[Sequence[Any]] = []
    for values in plain:
        row = list(values)
        for index, process, done in converting:
            value = row[index]
            try:
                row[index] = done[value]
            except KeyError:
                row[index] = done[value] = process(value)
        out.append(row)
    return out


@functools.cache
def _sqlite_top(table: sa.Table, autoincrement: bool) -> sa.Select[Any]:
    """Return the query for the highest id a SQLite table has ever used."""
    highest = sa.select(sa.func.coalesce(sa.func.max(_key_column(table)), 0)).scalar_subquery()
    if not autoincrement:
        return sa.select(highest)
    sequence = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"))
    used = (
        sa.select(sa.func.coalesce(sa.func.max(sequence.c.seq), 0))
        .where(sequence.c.name == table.name)
        .scalar_subquery()
    )
    return sa.select(sa.func.max(highest, used))


@functools.cache
def _compiled(
    dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]
) -> tuple[str, tuple[_Processor, ...]]:
    """Return the statement that takes these columns, and each one's converter.

    On SQLite a one-row INSERT with a "?" per column (``_sqlite_rows`` makes it
    take more rows); on PostgreSQL a COPY; on MariaDB an INSERT up to its
    VALUES (``_insert_mysqldb`` adds the rows).
    """
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in columns)
    if dialect.name == "sqlite":
        marks = "(" + ", ".join("?" for _ in columns) + ")"
        sql = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES {marks}"
    elif dialect.name == "postgresql":
        sql = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
    else:
        sql = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES "
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )
    return sql, processors


def _key_column(table: sa.Table) -> sa.Column[Any]:
    (key,) = table.primary_key.columns
    return key
