"""Open database engines with the settings gammu-smsd's neighbours need.

On SQLite gammu-smsd waits for no lock at all: a lock it meets is an error, a
sleep and a reconnect. So the file runs in WAL mode (readers never block its
writes), surgad's own connections wait for locks instead of failing, and every
write transaction starts with ``BEGIN IMMEDIATE`` so it takes the lock up front
and holds it for as short a time as possible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from surgad.errors import DatabaseError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create(url: str, **kwargs: Any) -> sa.Engine:
    """Create an engine for a surgad database URL."""
    try:
        engine = sa.create_engine(url, **_options(url), **kwargs)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise DatabaseError(f"cannot use database URL: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
    return engine


def _options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"poolclass": sa.pool.NullPool}
    if url.startswith("mysql"):
        return {"pool_pre_ping": True, "connect_args": {"charset": "utf8mb4"}}
    return {"pool_pre_ping": True}


def _prepare_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let surgad decide where transactions begin (pysqlite would guess).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a short write transaction that commits on success."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextlib.contextmanager
def reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a read transaction that never blocks gammu-smsd's writes."""
    with engine.connect() as conn:
        with conn.begin():
            yield conn


def ping(engine: sa.Engine) -> None:
    """Check that the database answers, or raise DatabaseError."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"database does not answer: {exc.orig}") from exc
