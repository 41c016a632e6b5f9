"""Give each integration test a fresh database: SQLite, PostgreSQL or MariaDB.

On the servers every test gets a database of its own, created empty and
dropped afterwards, so tests never see each other's rows and may run while
another suite uses the same server. The servers are the local ones by default;
``SURGAD_TEST_POSTGRESQL_URL`` and ``SURGAD_TEST_MYSQL_URL`` name others (an
administrative URL: the database in it is only used to create and drop the
test databases). ``SURGAD_TEST_BACKENDS`` (e.g. ``sqlite,postgresql``) limits
the backends the suite runs on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from surgad import dummyphone

BACKENDS = ("sqlite", "postgresql", "mysql")
SERVER_BACKENDS = ("postgresql", "mysql")
DEFAULT_ADMIN_URLS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4",
}
_GAMMU_DRIVER: dict[str, dummyphone.DbKind] = {"postgresql": "pgsql", "mysql": "mysql"}
_PREFIX = "surgad_t"
# Test databases are named after the pid that made them, so a later run can
# drop the ones a killed run left behind without touching a running suite's.
_OWN_NAME = re.compile(rf"^{_PREFIX}_(\d+)_[0-9a-f]+$")


def selected() -> tuple[str, ...]:
    """Return the backends this run tests on (all, unless the env narrows it)."""
    wanted = os.environ.get("SURGAD_TEST_BACKENDS", "")
    names = tuple(name.strip() for name in wanted.split(",") if name.strip())
    return tuple(name for name in BACKENDS if name in names) if names else BACKENDS


def admin_url(backend: str) -> sa.URL:
    """Return the administrative URL of the server behind ``backend``."""
    variable = f"SURGAD_TEST_{backend.upper()}_URL"
    return sa.make_url(os.environ.get(variable) or DEFAULT_ADMIN_URLS[backend])


@functools.cache
def unavailable(backend: str) -> str | None:
    """Say why the server behind ``backend`` cannot be used, or None if it can."""
    if backend == "sqlite":
        return None
    url = admin_url(backend)
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0]
        return f"{backend} at {url.render_as_string()} is not reachable: {first}"
    finally:
        engine.dispose()
    _drop_abandoned(url)
    return None


@dataclasses.dataclass
class Database:
    """One empty database for one test."""

    backend: str
    url: sa.URL
    name: str

    @property
    def url_text(self) -> str:
        """Return the URL as surgad's config takes it (password included)."""
        return self.url.render_as_string(hide_password=False)

    def gammu_target(self) -> dummyphone.DbTarget:
        """Return where gammu-smsd should store into this database."""
        if self.backend == "sqlite":
            return dummyphone.DbTarget.sqlite(Path(self.name))
        return dummyphone.DbTarget(
            kind=_GAMMU_DRIVER[self.backend],
            host=self.url.host or "127.0.0.1",
            port=self.url.port,
            user=self.url.username or "",
            password=self.url.password or "",
            database=self.name,
        )

    def end_other_sessions(self, sparing: Sequence[int] = ()) -> int:
        """End every session on this database but those named; return how many.

        What an administrator's restart or a failover does to surgad: its
        pooled connections and its LISTEN connection die mid-use. ``sparing``
        names server session ids (PostgreSQL backend pids, MariaDB connection
        ids) to leave alone.
        """
        if self.backend == "sqlite":
            return 0
        with _admin(self.backend) as conn:
            listing = _PG_SESSIONS if self.backend == "postgresql" else _MY_SESSIONS
            ids = [row[0] for row in conn.execute(listing, {"name": self.name})]
            ended = [session for session in ids if session not in sparing]
            for session in ended:
                conn.execute(_END_SESSION[self.backend], {"id": int(session)})
            return len(ended)

    def allow_connections(self, allowed: bool) -> None:
        """Refuse (or accept again) new sessions on this PostgreSQL database."""
        with _admin(self.backend) as conn:
            value = "true" if allowed else "false"
            conn.exec_driver_sql(
                f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS {value}'
            )

    def drop(self) -> None:
        """Drop the database and end whatever still uses it."""
        if self.backend == "sqlite":
            return
        _drop(self.backend, self.name)


def create(backend: str, directory: Path) -> Database:
    """Create an empty database on ``backend``; the caller checks availability."""
    if backend == "sqlite":
        path = directory / "smsd.db"
        return Database(backend, sa.URL.create("sqlite", database=str(path)), str(path))
    name = f"{_PREFIX}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin(backend) as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\'')
        else:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    url = admin_url(backend).set(database=name)
    if backend == "mysql":
        url = url.update_query_dict({"charset": "utf8mb4"})
    return Database(backend, url, name)


_PG_SESSIONS = sa.text(
    "SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
)
_MY_SESSIONS = sa.text(
    "SELECT id FROM information_schema.processlist "
    "WHERE db = :name AND id <> CONNECTION_ID()"
)
_END_SESSION = {
    "postgresql": sa.text("SELECT pg_terminate_backend(:id)"),
    "mysql": sa.text("KILL CONNECTION :id"),
}


def _admin_engine(url: sa.URL) -> sa.Engine:
    connect_args: dict[str, Any] = {"connect_timeout": 3}
    return sa.create_engine(
        url,
        poolclass=sa.pool.NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args=connect_args,
    )


@contextlib.contextmanager
def _admin(backend: str) -> Iterator[sa.Connection]:
    """Open an autocommit connection to a server's administrative database."""
    engine = _admin_engine(admin_url(backend))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _drop(backend: str, name: str) -> None:
    with _admin(backend) as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        for (session,) in conn.execute(_MY_SESSIONS, {"name": name}).all():
            conn.execute(_END_SESSION[backend], {"id": int(session)})
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


def _drop_abandoned(url: sa.URL) -> None:
    """Drop test databases whose creating process no longer runs."""
    backend = url.get_backend_name()
    listing = {
        "postgresql": "SELECT datname FROM pg_database",
        "mysql": "SELECT schema_name FROM information_schema.schemata",
    }[backend]
    with _admin(backend) as conn:
        names = [row[0] for row in conn.exec_driver_sql(listing)]
    for name in names:
        match = _OWN_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _drop(backend, name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
