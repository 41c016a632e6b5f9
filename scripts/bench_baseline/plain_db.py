"""Open a plain DB-API connection for the comparison programs of the benchmark.

The programs beside this file stand for what deployments write without surgad,
so they use the database drivers directly: ``sqlite3``, ``psycopg2`` or
``MySQLdb`` (mysqlclient), the drivers surgad uses, so that a comparison measures
the programs and not their drivers. One SQL text serves all three: identifiers
are double-quoted (gammu's PostgreSQL columns are mixed-case; MariaDB gets
``ANSI_QUOTES``) and parameters are written ``%s`` and turned into ``?`` for
SQLite.

The database is named by a URL in ``BENCH_DB``: ``sqlite:///path/to/smsd.db``,
``postgresql://user@host:port/db`` or ``mysql://user@host:port/db``.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import urllib.parse
from collections.abc import Sequence
from typing import Any

ENV_VAR = "BENCH_DB"
SQLITE_BUSY_TIMEOUT = 30.0


@dataclasses.dataclass
class Db:
    """A connection plus what differs between the three databases."""

    kind: str
    conn: Any

    @property
    def processed(self) -> tuple[object, object]:
        """Return the values of gammu's ``Processed`` column: (false, true)."""
        return (False, True) if self.kind == "postgresql" else ("false", "true")

    def sql(self, text: str) -> str:
        """Return ``text`` with the parameter markers this driver expects."""
        return text.replace("%s", "?") if self.kind == "sqlite" else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; return the cursor."""
        cursor = self.conn.cursor()
        if params:
            cursor.execute(self.sql(text), tuple(params))
        else:
            # Without parameters the server drivers leave a literal % alone.
            cursor.execute(text)
        return cursor

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows."""
        if rows:
            self.conn.cursor().executemany(self.sql(text), [tuple(r) for r in rows])

    def time(self, value: Any) -> Any:
        """Return a datetime as the driver stores it (SQLite keeps ISO text)."""
        return value.isoformat(sep=" ") if self.kind == "sqlite" else value

    def begin_write(self) -> None:
        """Start a write transaction (SQLite: take the write lock up front)."""
        if self.kind == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the open transaction."""
        self.conn.commit()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def connect(url: str | None = None, autocommit: bool = False) -> Db:
    """Connect to the database named by ``url`` (default: ``$BENCH_DB``)."""
    url = url or os.environ[ENV_VAR]
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(parts.path, autocommit)
    if parts.scheme == "postgresql":
        return _postgresql(parts, autocommit)
    if parts.scheme == "mysql":
        return _mysql(parts, autocommit)
    raise ValueError(f"unknown database URL scheme {parts.scheme!r}")


def _sqlite(path: str, autocommit: bool) -> Db:
    # As in SQLAlchemy: sqlite:////abs/path is absolute, sqlite:///rel.db is
    # relative; urlsplit returns them as //abs/path and /rel.db.
    conn = sqlite3.connect(
        path[1:],
        timeout=SQLITE_BUSY_TIMEOUT,
        isolation_level=None,
    )
    if not autocommit:
        # Explicit BEGIN in begin_write(); plain statements open a deferred one.
        conn.isolation_level = "DEFERRED"
    return Db("sqlite", conn)


def _postgresql(parts: urllib.parse.SplitResult, autocommit: bool) -> Db:
    import psycopg2  # type: ignore[import-untyped]

    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname=parts.path.lstrip("/"),
    )
    conn.autocommit = autocommit
    return Db("postgresql", conn)


def _mysql(parts: urllib.parse.SplitResult, autocommit: bool) -> Db:
    import MySQLdb  # type: ignore[import-untyped]

    conn = MySQLdb.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/"),
        charset="utf8mb4",
        autocommit=autocommit,
    )
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
    return Db("mysql", conn)
