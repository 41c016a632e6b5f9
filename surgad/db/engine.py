"""Open database engines with the settings gammu-smsd's neighbours need.

On SQLite gammu-smsd waits for no lock at all: a lock it meets is an error, a
sleep and a reconnect. So the file runs in WAL mode (readers never block its
writes), surgad's own connections wait for locks instead of failing, and every
write transaction starts with ``BEGIN IMMEDIATE`` so it takes the lock up front
and holds it for as short a time as possible.

On PostgreSQL and MariaDB row locks keep surgad and gammu-smsd apart. There the
engine's job is to survive the server: pooled connections that rested are
tested before use, connects time out, and MariaDB runs at READ COMMITTED like
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import difflib
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from surgad.errors import DatabaseError, shown

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 32 * 1024  # page cache per connection
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
CONNECT_TIMEOUT = 10  # whole seconds: every server driver takes an integer
APPLICATION_NAME = "surgad"

# Connection settings for the servers, each used unless the URL sets it. A dead
# server must fail a connect quickly (the retry policy waits, not the socket),
# and a connection whose server vanished without closing it must not hang a
# worker forever (TCP keepalives on PostgreSQL).
_SERVER_CONNECT_ARGS: dict[str, dict[str, Any]] = {
    "postgresql": {
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": APPLICATION_NAME,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    },
    "mysql": {"charset": "utf8mb4", "connect_timeout": CONNECT_TIMEOUT},
}


def create(url: str, **kwargs: Any) -> sa.Engine:
    """Create an engine for a surgad database URL."""
    try:
        parsed = _normalized(sa.make_url(url))
        engine = sa.create_engine(parsed, **(_options(parsed) | kwargs))
    except (sa.exc.ArgumentError, ImportError, TypeError, ValueError) as exc:
        # TypeError, ValueError: an option of the URL's query the driver refuses.
        raise DatabaseError(f"cannot use database URL: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
    else:
        _ping_when_idle(engine)
        _refuse_unknown_options(engine)
    return engine


def _refuse_unknown_options(engine: sa.Engine) -> None:
    """Turn a driver's refusal of the URL's options into one clear error.

    The drivers take a URL's query options as keyword arguments: an unknown
    one (``?foo=bar``) or a bad value (``?connect_timeout=abc``) is a Python
    TypeError or ValueError from deep inside the pool, not a database error.
    """

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except (TypeError, ValueError) as exc:
            raise DatabaseError(
                f"the {dialect.driver} driver refuses the URL's options: {exc}"
            ) from exc


# The drivers surgad is built and tested with, the one README recommends first.
# On MariaDB that is mysqlclient, a C extension: the pure-Python PyMySQL spent a
# quarter more CPU per SMS, and stays for the configs that name it.
_DRIVERS = {
    "sqlite": ("pysqlite",),
    "postgresql": ("psycopg2",),
    "mysql": ("mysqldb", "pymysql"),
}
# The extra of setup.cfg that installs each driver not in Python itself.
_EXTRAS = {"psycopg2": "postgresql", "mysqldb": "mysql", "pymysql": "pymysql"}
MAX_PORT = 65535
_URL_FORMS = "sqlite:////path/smsd.db, postgresql+psycopg2://… or mysql+mysqldb://…"


def url_problem(url: str) -> str | None:
    """Say in a few words what makes a database URL unusable; None if it is fine.

    The URL itself is never repeated: it may hold a password.
    """
    try:
        parsed = _normalized(sa.make_url(url))
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        return f"not a database URL (use {_URL_FORMS})"
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        return _unknown_backend_problem(parsed)
    if parsed.port is not None and not 1 <= parsed.port <= MAX_PORT:
        return f"port {parsed.port} is out of range: use 1 to {MAX_PORT}"
    charset = parsed.query.get("charset", "utf8mb4")
    if backend == "mysql" and not isinstance(charset, str):
        return "charset is given more than once"
    if backend == "mysql" and charset != "utf8mb4":
        # Any other connection charset cannot carry emoji: such an SMS would fail.
        return f"charset must be utf8mb4, not {shown(charset)}"
    if backend == "sqlite" and (problem := _sqlite_file_problem(parsed.database)):
        return problem
    if backend == "sqlite" and (problem := _sqlite_query_problem(parsed.query)):
        return problem
    if backend != "sqlite" and not parsed.database:
        # The server would pick a default database, and db init fill it.
        return f"names no database: end the URL with its name ({backend}+…/smsd)"
    return _driver_problem(parsed, backend)


# Names people write for the databases surgad takes that SQLAlchemy does not
# know: libpq's and many hosting providers' postgres://, the psql client's
# name, gammu-smsd's pgsql and sqlite3 drivers.
_ALIASES = {"postgres": "postgresql", "pg": "postgresql", "pgsql": "postgresql",
            "psql": "postgresql", "sqlite3": "sqlite"}
# What a misspelt name is compared with, and the backend each stands for.
_SPELLINGS = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql",
              "mariadb": "mysql"}


def _unknown_backend_problem(url: sa.URL) -> str:
    """Refuse a database surgad does not take, naming the form probably meant."""
    typed, _, driver = url.drivername.partition("+")
    meant = _meant_backend(url, typed)
    if meant is None:
        return f"unknown database {typed!r} (use {_URL_FORMS})"
    if meant == "sqlite":
        form = "sqlite:////…"
    else:
        wanted = _DRIVERS[meant]
        form = f"{meant}+{driver if driver in wanted else wanted[0]}://…"
    return f"unknown database {typed!r}: did you mean {form}? (use {_URL_FORMS})"


def _meant_backend(url: sa.URL, typed: str) -> str | None:
    """Guess which of surgad's backends a name SQLAlchemy does not know stands for.

    A name SQLAlchemy knows (mssql, oracle) is another database, not a typo.
    """
    if typed.lower() in _ALIASES:
        return _ALIASES[typed.lower()]
    try:
        url.get_dialect()
    except sa.exc.NoSuchModuleError:
        close = difflib.get_close_matches(typed.lower(), _SPELLINGS, n=1)
        return _SPELLINGS[close[0]] if close else None
    return None


def _driver_problem(url: sa.URL, backend: str) -> str | None:
    """Say why the URL's driver is not one surgad uses, or is not installed."""
    wanted = _DRIVERS[backend]
    try:
        dialect = url.get_dialect()
    except sa.exc.NoSuchModuleError:
        dialect = None
    if dialect is None or dialect.driver not in wanted:
        drivers = " or ".join(wanted)
        forms = " or ".join(f"{backend}+{name}://…" for name in wanted)
        return f"{backend} needs the {drivers} driver: write {forms}"
    try:
        dialect.import_dbapi()
    except ImportError:
        driver = dialect.driver
        extra = _EXTRAS.get(driver, backend)
        return f"the {driver} driver is not installed: pip install 'surgad[{extra}]'"
    return None


_SQLITE_EXAMPLE = "sqlite:////var/lib/surgad/smsd.db"


def _sqlite_file_problem(database: str | None) -> str | None:
    """Say why a SQLite URL names no file gammu-smsd could share; None if it does."""
    if not database:
        return (
            "names no database file; gammu-smsd and surgad must share one "
            f"(write {_SQLITE_EXAMPLE})"
        )
    if database == ":memory:":
        return (
            "an in-memory database cannot be shared with gammu-smsd; name the "
            f"file they share (write {_SQLITE_EXAMPLE})"
        )
    if not database.startswith("/"):
        # Relative to whichever directory the command runs in: each run could
        # open a different, new file, none of them the one gammu-smsd writes.
        return (
            f"the SQLite file needs an absolute path, not {shown(database)} "
            f"(four slashes: {_SQLITE_EXAMPLE})"
        )
    return None


_SQLITE_TRUE = frozenset({"1", "yes", "true", "on"})  # how SQLite's URIs say yes
# SQLite's URI options that open the file read-only, and the values that do.
# Both are refused even without uri=true, when SQLAlchemy would only warn and
# drop them: whoever wrote them expected a read-only file.
_SQLITE_READ_ONLY = {"mode": frozenset({"ro"}), "immutable": _SQLITE_TRUE}
# The options SQLAlchemy's pysqlite dialect passes to the driver, each with
# the conversion it applies. The driver's isolation_level, detect_types and
# check_same_thread are left out: surgad sets them itself.
_PYSQLITE_OPTIONS: dict[str, Callable[[str], object]] = {
    "uri": sa.util.asbool,
    "timeout": float,
    "cached_statements": int,
}
# SQLite's own URI parameters (sqlite.org/uri.html): they reach SQLite only
# with uri=true; without it SQLAlchemy warns and drops them.
_SQLITE_URI_OPTIONS = frozenset({"mode", "immutable", "cache", "vfs", "psow", "nolock"})


def _sqlite_query_problem(query: Mapping[str, str | tuple[str, ...]]) -> str | None:
    """Say why a SQLite URL's options would not let surgad write; None if they do."""
    for key, read_only in _SQLITE_READ_ONLY.items():
        for value in _values(query.get(key)):
            if value.lower() in read_only:
                return (
                    f"{shown(f'{key}={value}')} opens the SQLite file read-only, "
                    "but surgad writes to it: remove it from the URL"
                )
    if "memory" in (value.lower() for value in _values(query.get("mode"))):
        return (
            "mode=memory makes an in-memory database, which cannot be shared with "
            f"gammu-smsd; name the file they share (write {_SQLITE_EXAMPLE})"
        )
    return _sqlite_unknown_option(query)


def _sqlite_unknown_option(query: Mapping[str, str | tuple[str, ...]]) -> str | None:
    """Refuse a SQLite URL option the driver would not take, or take wrongly."""
    for key, value in query.items():
        if not isinstance(value, str):
            return f"the SQLite option {shown(key)} is given more than once"
        if key in _PYSQLITE_OPTIONS and (problem := _pysqlite_value(key, value)):
            return problem
        if key in _SQLITE_URI_OPTIONS and not _sqlite_uri(query):
            return f"the SQLite option {shown(key)} takes effect only with uri=true"
        if key not in _PYSQLITE_OPTIONS and key not in _SQLITE_URI_OPTIONS:
            return (
                f"unknown SQLite option {shown(key)} (use "
                f"{', '.join(_PYSQLITE_OPTIONS)}; with uri=true also SQLite's "
                f"{', '.join(sorted(_SQLITE_URI_OPTIONS))})"
            )
    if any(value.lower() in _SQLITE_TRUE for value in _values(query.get("nolock"))):
        # Without locks gammu-smsd's and surgad's writes would corrupt the file.
        return "nolock=1 turns off the locks that keep gammu-smsd and surgad apart"
    return None


def _pysqlite_value(key: str, value: str) -> str | None:
    try:
        _PYSQLITE_OPTIONS[key](value)
    except ValueError:
        return f"the SQLite option {key} takes no value {shown(value)}"
    return None


def _sqlite_uri(query: Mapping[str, str | tuple[str, ...]]) -> bool:
    value = query.get("uri", "false")
    return isinstance(value, str) and bool(sa.util.asbool(value))


def _values(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """Return a URL query option's values: none, one, or all of a repeated option."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


PING_AFTER_IDLE = 5.0  # seconds a pooled server connection may rest untested


def _ping_when_idle(engine: sa.Engine) -> None:
    """Test a pooled connection before use if it rested a while.

    A connection may have died with its server while it sat in the pool; the
    test lets the pool replace it, so a restarted server costs at most one
    failed batch, not one per pooled socket. A connection handed back moments
    ago is not tested: under load that would add a round trip to every batch,
    and a server lost in between fails the batch, which is retried.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["rested_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        rested_since = record.info.get("rested_since")
        if rested_since is None or time.monotonic() - rested_since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool drops this connection and checks out another one.
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _normalized(url: sa.URL) -> sa.URL:
    """Read a ``mariadb+driver://`` URL as ``mysql+driver://``.

    SQLAlchemy names the dialect "mariadb" for the former; surgad (and gammu's
    schema files) know MariaDB by the MySQL dialect, which detects MariaDB.
    A plain ``mariadb://`` takes the driver a plain ``mysql://`` does.
    """
    backend, _, driver = url.drivername.partition("+")
    if backend != "mariadb":
        return url
    return url.set(drivername="mysql+" + (driver or "mysqldb"))


def _options(url: sa.URL) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "sqlite":
        # Keep the file open between transactions: opening it costs more than a
        # whole idle poll. An idle connection holds no lock in WAL mode. Last
        # in, first out: a worker's read and write then share one connection,
        # whose data_version tells whether anyone wrote in between.
        return {
            "poolclass": sa.pool.QueuePool,
            "pool_size": 2,
            "max_overflow": 4,
            "pool_use_lifo": True,
        }
    defaults = _SERVER_CONNECT_ARGS.get(backend, {})
    connect_args = {
        key: value for key, value in defaults.items() if key not in url.query
    }
    options: dict[str, Any] = {"connect_args": connect_args}
    if backend == "mysql":
        # READ COMMITTED takes no gap locks: a claim of inbox rows never makes
        # gammu-smsd's INSERT wait, as in PostgreSQL.
        options["isolation_level"] = "READ COMMITTED"
    return options


# SQLite has no hash function of its own: each connection gets this one, the
# CRC-32 of the UTF-8 text that MariaDB's CRC32() computes, so that workers
# share the inbox by sender the same way in every process (see inbox._share).
SHARE_FUNCTION = "surgad_share"


def sender_share(number: str | bytes | None, count: int) -> int:
    """Return which of ``count`` workers handles the SMS of ``number``.

    The SQL passes the number as bytes (``CAST(... AS BLOB)``): a row that
    holds a BLOB or text that is not UTF-8 there is then shared out like any
    other, and rejected by the worker that reads it, instead of failing the
    query of every worker.
    """
    if not isinstance(number, bytes):
        number = (number or "").encode("utf-8", "surrogatepass")
    return zlib.crc32(number) % count


def _prepare_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let surgad decide where transactions begin (pysqlite would guess).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # A year of history puts millions of rows in the indexes every batch
        # writes to; SQLite's default 2 MiB page cache then reads most pages
        # back from the OS one system call at a time. Keep more in memory, and
        # read the file through a memory map.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        cursor.close()
        dbapi_conn.create_function(SHARE_FUNCTION, 2, sender_share, deterministic=True)

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


@contextlib.contextmanager
def bare_connection(engine: sa.Engine) -> Iterator[Any]:
    """Lend a pooled DB-API connection: no transaction, no statement building."""
    pooled = engine.raw_connection()
    try:
        yield pooled.dbapi_connection
    finally:
        pooled.close()


def data_version(conn: sa.Connection) -> tuple[int, int] | None:
    """Return what changes when another connection commits to a SQLite file.

    Two equal results from the same open connection mean nobody else wrote in
    between. None on the servers, where there is no such number.
    """
    if conn.dialect.name != "sqlite":
        return None
    return sqlite_data_version(conn.connection.dbapi_connection)


def sqlite_data_version(dbapi_conn: Any) -> tuple[int, int]:
    """Return (which connection, its data_version) for a bare SQLite connection."""
    cursor = dbapi_conn.cursor()
    try:
        (version,) = cursor.execute("PRAGMA data_version").fetchone()
    finally:
        cursor.close()
    return id(dbapi_conn), int(version)


def ping(engine: sa.Engine) -> None:
    """Check that the database answers, or raise DatabaseError."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"database does not answer: {one_line(exc)}") from exc


# The MySQL client errors of a server that was not reached: CR_CONNECTION_ERROR
# (a socket) and CR_CONN_HOST_ERROR (a host and port). Under mysqlclient,
# libmariadb names no cause: "Can't connect to server on '127.0.0.1' (115)"
# is the errno of its non-blocking connect, even when the port refused.
_MYSQL_UNREACHED = frozenset({2002, 2003})
_MYSQL_DRIVERS = frozenset({"MySQLdb", "pymysql"})  # their packages
_UNREACHED_HINT = "is the server running and accepting connections there?"


def one_line(error: BaseException) -> str:
    """Return a driver's error message as one line.

    libpq puts a hint on a line of its own after the error, and pads with
    blanks; an error for a person at a terminal or in a log is one line.
    A MySQL client's "cannot connect" gets the hint libpq would have given.
    """
    cause = getattr(error, "orig", None) or error
    lines = (" ".join(line.split()) for line in str(cause).splitlines())
    text = "; ".join(line for line in lines if line) or type(error).__name__
    if _mysql_unreached(cause):
        text += f"; {_UNREACHED_HINT}"
    return text


def _mysql_unreached(error: BaseException) -> bool:
    """Tell whether a MySQL driver's error says the server was not reached."""
    package = type(error).__module__.partition(".")[0]
    if package not in _MYSQL_DRIVERS or not error.args:
        return False
    return error.args[0] in _MYSQL_UNREACHED
