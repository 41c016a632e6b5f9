"""Give each integration test a fresh database: SQLite, PostgreSQL or MariaDB.

On the servers every test gets a database of its own, created empty and
dropped afterwards, so tests never see each other's rows and may run while
another suite uses the same server. The servers are the local ones by default;
``SURGAD_TEST_POSTGRESQL_URL`` and ``SURGAD_TEST_MYSQL_URL`` name others (an
administrative URL: the database in it is only used to create and drop the
test databases). ``SURGAD_TEST_BACKENDS`` (e.g. ``sqlite,postgresql``) limits
the backends the suite runs on.

When the default local server does not answer but its programs are installed
(Debian's postgresql, mariadb-server), the suite starts a throwaway server of
its own on a free loopback port, with its data in a temporary directory, and
stops it at the end (``stop_throwaway_servers``). ``SURGAD_TEST_THROWAWAY=always``
does so even when the local server answers; ``never`` only skips.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
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
    "mysql": "mysql+mysqldb://root@127.0.0.1:3306/test?charset=utf8mb4",
}
SERVER_START_TIMEOUT = 60.0
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
    """Return the administrative URL of the server the tests use for ``backend``."""
    server = _server(backend)
    return server.url if server.url is not None else _configured_url(backend)


def unavailable(backend: str) -> str | None:
    """Say why no server for ``backend`` can be used, or None if one can."""
    return None if backend == "sqlite" else _server(backend).problem


@dataclasses.dataclass
class _Server:
    """The server behind a backend: its URL, or why there is none."""

    url: sa.URL | None
    problem: str | None = None
    process: subprocess.Popen[bytes] | None = None
    directory: Path | None = None
    stop_signal: int = signal.SIGTERM


_throwaway: list[_Server] = []


def _configured_url(backend: str) -> sa.URL:
    variable = f"SURGAD_TEST_{backend.upper()}_URL"
    return sa.make_url(os.environ.get(variable) or DEFAULT_ADMIN_URLS[backend])


@functools.cache
def _server(backend: str) -> _Server:
    """Find the server for ``backend``: the configured one, or a throwaway."""
    url = _configured_url(backend)
    mode = os.environ.get("SURGAD_TEST_THROWAWAY", "")
    problem = "a throwaway server was asked for" if mode == "always" else _probe(url)
    if problem is None:
        _drop_abandoned(url)
        return _Server(url)
    named = f"SURGAD_TEST_{backend.upper()}_URL" in os.environ
    if mode == "never" or (named and mode != "always"):
        return _Server(None, problem)
    try:
        server = _start_throwaway(backend)
    except (OSError, subprocess.SubprocessError, TimeoutError, KeyError) as exc:
        return _Server(None, f"{problem}; no throwaway server either: {exc}")
    _throwaway.append(server)
    return server


def _probe(url: sa.URL) -> str | None:
    """Return why ``url`` does not answer, or None when it does."""
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0]
        return f"{url.render_as_string()} is not reachable: {first}"
    finally:
        engine.dispose()
    return None


def stop_throwaway_servers() -> None:
    """Stop the servers this run started and delete their data."""
    while _throwaway:
        server = _throwaway.pop()
        if server.process is not None and server.process.poll() is None:
            server.process.send_signal(server.stop_signal)
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
        if server.directory is not None:
            shutil.rmtree(server.directory, ignore_errors=True)


def _start_throwaway(backend: str) -> _Server:
    directory = Path(tempfile.mkdtemp(prefix=f"surgad-test-{backend}-"))
    owner = _server_user(backend)
    if owner is not None:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    start = _start_postgresql if backend == "postgresql" else _start_mariadb
    try:
        process, url = start(directory, port, owner)
        # SIGINT is PostgreSQL's fast shutdown; MariaDB stops on SIGTERM.
        stop = signal.SIGINT if backend == "postgresql" else signal.SIGTERM
        server = _Server(url, None, process, directory, stop)
        _wait_answering(server)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return server


def _server_user(backend: str) -> pwd.struct_passwd | None:
    """Return the account to run a server as: neither server runs as root."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("postgres" if backend == "postgresql" else "mysql")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as(owner: pwd.struct_passwd | None) -> dict[str, Any]:
    """Return Popen arguments that run a program as ``owner`` (or as we are)."""
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


def _start_postgresql(
    directory: Path, port: int, owner: pwd.struct_passwd | None
) -> tuple[subprocess.Popen[bytes], sa.URL]:
    bindir = _postgresql_bindir()
    data = directory / "data"
    with (directory / "server.log").open("ab") as log:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            check=True, stdout=log, stderr=subprocess.STDOUT, timeout=120, **_as(owner),
        )  # fmt: skip
        process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-k", str(directory),
             "-h", "127.0.0.1", "-p", str(port), "-F", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, **_as(owner),
        )  # fmt: skip
    url = sa.URL.create(
        "postgresql+psycopg2", "postgres", None, "127.0.0.1", port, "postgres"
    )
    return process, url


def _postgresql_bindir() -> Path:
    """Find PostgreSQL's server programs (Debian keeps them out of PATH)."""
    found = shutil.which("pg_config")
    if found:
        bindir = subprocess.run(
            [found, "--bindir"], check=True, capture_output=True, text=True
        ).stdout.strip()
        if (Path(bindir) / "initdb").exists():
            return Path(bindir)
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if not versions:
        raise FileNotFoundError("initdb not found (Debian package postgresql)")
    return Path(versions[-1]).parent


def _start_mariadb(
    directory: Path, port: int, owner: pwd.struct_passwd | None
) -> tuple[subprocess.Popen[bytes], sa.URL]:
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = shutil.which("mariadbd") or _sbin("mariadbd") or _sbin("mysqld")
    if install is None or server is None:
        raise FileNotFoundError("mariadbd not found (Debian package mariadb-server)")
    data = directory / "data"
    user = ["--user=" + owner.pw_name] if owner is not None else []
    with (directory / "server.log").open("ab") as log:
        subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
             "--auth-root-authentication-method=normal", *user],
            check=True, stdout=log, stderr=subprocess.STDOUT, timeout=120,
        )  # fmt: skip
        # No grant tables: a throwaway server on loopback lets anyone in.
        process = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", f"--port={port}",
             "--bind-address=127.0.0.1", f"--socket={directory / 'mysqld.sock'}",
             f"--pid-file={directory / 'mysqld.pid'}", "--skip-grant-tables",
             "--character-set-server=utf8mb4", "--innodb-buffer-pool-size=64M",
             "--skip-log-bin", *user],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = sa.URL.create(
        "mysql+mysqldb",
        "root",
        None,
        "127.0.0.1",
        port,
        "mysql",
        {"charset": "utf8mb4"},
    )
    return process, url


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def _wait_answering(server: _Server) -> None:
    assert server.url is not None and server.process is not None
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while (problem := _probe(server.url)) is not None:
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.process.kill()
            server.process.wait()
            raise TimeoutError(f"throwaway server did not answer: {problem}")
        time.sleep(0.2)


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
            conn.exec_driver_sql(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'")
        else:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    url = admin_url(backend).set(database=name)
    if backend == "mysql":
        url = url.update_query_dict({"charset": "utf8mb4"})
    return Database(backend, url, name)


def create_postgresql_encoded(encoding: str) -> Database:
    """Create an empty PostgreSQL database in ``encoding``, as a careless admin might.

    The C locale goes with any encoding; the caller drops the database.
    """
    name = f"surgadtest_enc_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin("postgresql") as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE \"{name}\" ENCODING '{encoding}' "
            "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )
    return Database("postgresql", admin_url("postgresql").set(database=name), name)


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
def _admin(backend: str, url: sa.URL | None = None) -> Iterator[sa.Connection]:
    """Open an autocommit connection to a server's administrative database."""
    engine = _admin_engine(url or admin_url(backend))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _drop(backend: str, name: str, url: sa.URL | None = None) -> None:
    with _admin(backend, url) as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        for (session,) in conn.execute(_MY_SESSIONS, {"name": name}).all():
            try:
                conn.execute(_END_SESSION[backend], {"id": int(session)})
            except sa.exc.OperationalError as exc:
                # 1094: the session ended by itself between the listing and now
                # (a stopped daemon's connections close a moment after it exits).
                if exc.orig is None or exc.orig.args[0] != 1094:
                    raise
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


def _drop_abandoned(url: sa.URL) -> None:
    """Drop test databases whose creating process no longer runs."""
    backend = url.get_backend_name()
    listing = {
        "postgresql": "SELECT datname FROM pg_database",
        "mysql": "SELECT schema_name FROM information_schema.schemata",
    }[backend]
    with _admin(backend, url) as conn:
        names = [row[0] for row in conn.exec_driver_sql(listing)]
    for name in names:
        match = _OWN_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _drop(backend, name, url)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
