"""Create and upgrade the whole database: gammu's schema and surgad's tables."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.resources
import os
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from surgad.db import engine as db_engine
from surgad.db import gammu
from surgad.errors import DatabaseError, shown


def alembic_config(conn: sa.Connection) -> Config:
    """Return the alembic config that migrates surgad's tables over ``conn``."""
    config = Config()
    location = importlib.resources.files("surgad.db") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = conn
    return config


INIT_LOCK_TIMEOUT = 300.0  # seconds one db init waits for another to finish
INIT_LOCK_POLL = 0.2
_PG_INIT_LOCK = 0x73757267  # "surg": the advisory lock key of db init
_MY_INIT_LOCK = "surgad_db_init"


@contextlib.contextmanager
def one_at_a_time(engine: sa.Engine) -> Iterator[None]:
    """Let one ``surgad db init`` at a time create and migrate the schema.

    Two runs at once (two hosts set up together, or an init in each host's
    start-up) would both find a table missing, both create it, and all but
    one would fail half-way. The lock is the server's own, so it holds across
    hosts: an advisory lock on PostgreSQL, a named lock on MariaDB. A SQLite
    file has one host; there the lock is on the file's directory.
    """
    if engine.dialect.name == "sqlite":
        with _directory_lock(engine.url.database or ""):
            yield
        return
    with engine.connect() as conn:
        _wait_for_server_lock(conn)
        try:
            yield
        finally:
            # Ending the session releases the lock, whatever state it is in.
            conn.invalidate()


def _wait_for_server_lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "mysql":
        got = conn.execute(
            sa.text("SELECT GET_LOCK(:name, :seconds)"),
            {"name": _MY_INIT_LOCK, "seconds": int(INIT_LOCK_TIMEOUT)},
        ).scalar()
        conn.commit()
        if got != 1:
            raise _held_too_long()
        return

    def attempt() -> bool:
        query = sa.text("SELECT pg_try_advisory_lock(:key)")
        got = conn.execute(query, {"key": _PG_INIT_LOCK}).scalar()
        conn.commit()
        return bool(got)

    _until_taken(attempt)


def _until_taken(attempt: Callable[[], bool]) -> None:
    """Try to take a lock every INIT_LOCK_POLL seconds, for INIT_LOCK_TIMEOUT."""
    deadline = time.monotonic() + INIT_LOCK_TIMEOUT
    while not attempt():
        if time.monotonic() > deadline:
            raise _held_too_long()
        time.sleep(INIT_LOCK_POLL)


def _held_too_long() -> DatabaseError:
    return DatabaseError(
        f"another 'surgad db init' has been running for {INIT_LOCK_TIMEOUT:.0f} s; "
        "try again when it has finished"
    )


@contextlib.contextmanager
def _directory_lock(database: str) -> Iterator[None]:
    """Hold an exclusive lock on the directory of a SQLite file.

    Not on the file itself: SQLite's own locks on it are dropped when any
    descriptor of the file closes in this process.
    """
    directory = os.path.dirname(database) or "."
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise DatabaseError(
            f"cannot open the database directory {shown(directory)}: {exc.strerror}"
        ) from exc

    def attempt() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        _until_taken(attempt)
        yield
    finally:
        os.close(fd)  # and with it the lock


def init(engine: sa.Engine) -> list[str]:
    """Create gammu's schema if absent, then migrate surgad's tables to head."""
    done = []
    with db_engine.writing(engine) as conn:
        _check_charset(conn)
        version = gammu.installed_version(conn)
        if version is None:
            gammu.create_schema(conn)
            done.append(f"created gammu schema v{gammu.SCHEMA_VERSION}")
        elif version != gammu.SCHEMA_VERSION:
            raise DatabaseError(
                f"gammu schema is v{version}; surgad needs v{gammu.SCHEMA_VERSION}"
            )
        _check_engines(conn)
    with engine.connect() as conn:
        before = _current(conn)
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
        after = _current(conn)
    if before != after:
        done.append(f"migrated surgad tables {before or 'none'} -> {after}")
    return done


def _check_charset(conn: sa.Connection) -> None:
    """Refuse a database whose text columns would not keep every character.

    A complaint's text must survive as the citizen wrote it, emoji included.
    On MariaDB gammu's tables name utf8mb4 themselves, but surgad's tables
    take the database default. On PostgreSQL the encoding is the whole
    database's, set when it was created: SQL_ASCII or LATIN1 fail each SMS
    with a character they lack, forever, as the workers retry it.
    """
    if conn.dialect.name == "mysql":
        _check_mysql_charset(conn)
    elif conn.dialect.name == "postgresql":
        _check_postgresql_encoding(conn)


def _check_mysql_charset(conn: sa.Connection) -> None:
    charset = conn.exec_driver_sql("SELECT @@character_set_database").scalar()
    if charset != "utf8mb4":
        name = conn.exec_driver_sql("SELECT DATABASE()").scalar()
        raise DatabaseError(
            f"database {name} has character set {charset}; surgad needs utf8mb4: "
            f"ALTER DATABASE {name} CHARACTER SET utf8mb4"
        )


def _check_postgresql_encoding(conn: sa.Connection) -> None:
    name, encoding = conn.exec_driver_sql(
        "SELECT current_database(), current_setting('server_encoding')"
    ).one()
    if encoding != "UTF8":
        # No ALTER changes it: the database must be made again.
        raise DatabaseError(
            f"database {name} has encoding {encoding}; surgad needs UTF8: create it "
            f"with CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"
        )


def _check_engines(conn: sa.Connection) -> None:
    """Refuse gammu tables that cannot take part in a transaction.

    gammu's own mysql.sql creates MyISAM tables: there an outbox row could be
    sent without its parts, and a claim would lock whole tables.
    """
    if conn.dialect.name != "mysql":
        return
    found = conn.exec_driver_sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND engine <> 'InnoDB' "
        "AND table_name IN ('inbox', 'outbox', 'outbox_multipart', 'sentitems', "
        "'phones', 'gammu') ORDER BY table_name"
    )
    names = [row[0] for row in found]
    if names:
        fix = "; ".join(f"ALTER TABLE {name} ENGINE=InnoDB" for name in names)
        raise DatabaseError(f"gammu tables {', '.join(names)} are not InnoDB: {fix}")


def _current(conn: sa.Connection) -> str | None:
    context = MigrationContext.configure(
        conn, opts={"version_table": "surgad_alembic_version"}
    )
    return context.get_current_revision()


def check(engine: sa.Engine) -> None:
    """Raise DatabaseError unless both schemas are present and current."""
    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and not os.path.exists(database):
        # Opening it would leave an empty file behind, for gammu-smsd to trip on.
        raise DatabaseError(f"no database file {shown(database)}: run 'surgad db init'")
    db_engine.ping(engine)
    with engine.connect() as conn:
        _check_charset(conn)
        version = gammu.installed_version(conn)
        if version is None:
            raise DatabaseError("the database holds no gammu schema: run 'surgad db init'")
        if version != gammu.SCHEMA_VERSION:
            raise DatabaseError(
                f"gammu schema version is {version}, expected "
                f"{gammu.SCHEMA_VERSION}: run 'surgad db init'"
            )
        _check_engines(conn)
        head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
        if _current(conn) != head:
            raise DatabaseError("surgad tables are not current: run 'surgad db init'")
