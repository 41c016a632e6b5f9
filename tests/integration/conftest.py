"""A whole complaint line in a temporary directory: real gammu-smsd, real database.

Every test that takes ``make_line`` runs three times: on SQLite, PostgreSQL and
MariaDB (see ``tests.integration.databases``), each time on a database of its
own, with gammu-smsd storing into it through its native driver. A server that
cannot be reached skips its runs, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from surgad import dummyphone
from surgad.db import gammu as db_gammu
from surgad.db import inbox
from tests.integration import databases

REPO = Path(__file__).resolve().parents[2]
TZ = "Asia/Jakarta"
MAYOR = "+6281299990001"


def write_config(
    directory: Path,
    database_url: str,
    *,
    deadline_hours: float = 24,
    service: dict[str, Any] | None = None,
) -> Path:
    """Write a surgad config for a test line; return its path."""
    units = (REPO / "config" / "units-kediri.toml").read_text(encoding="utf-8")
    units = re.sub(
        r"(?m)^deadline_hours\s*=.*$", f"deadline_hours = {deadline_hours}", units
    )
    (directory / "units.toml").write_text(units, encoding="utf-8")
    options = {
        "timezone": TZ,
        "workers": 2,
        "batch_size": 100,
        "poll_interval": 0.05,
        "hold_window": 600,
        "watchdog_interval": 0.5,
        "shutdown_timeout": 20,
    } | (service or {})
    lines = ["[database]", f'url = "{database_url}"', "", "[service]"]
    lines += [f"{key} = {_toml(value)}" for key, value in options.items()]
    lines += [
        "",
        "[mayor]",
        f'numbers = ["{MAYOR}"]',
        "",
        "[units]",
        'file = "units.toml"',
    ]
    path = directory / "surgad.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something true; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def run_cli(
    config: Path, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the surgad CLI on a config file as a separate process, as staff would."""
    result = subprocess.run(
        [sys.executable, "-m", "surgad", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
    )
    if check and result.returncode != 0:
        pytest.fail(f"surgad {' '.join(args)} failed: {result.stderr}")
    return result


def run_cli_at_terminal(
    config: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the surgad CLI with its stderr on a terminal, as a person at one sees it.

    stdout is captured as usual; stderr is read back from the terminal, with
    the terminal's line ends turned back into plain ones.
    """
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "surgad", "--config", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=timeout,
            env=cli_env(),
        )
    finally:
        os.close(follower)
    shown = bytearray()
    try:
        while chunk := os.read(leader, 4096):
            shown += chunk
    except OSError:  # EIO: nothing is left and the other end is closed
        pass
    finally:
        os.close(leader)
    result.stderr = shown.decode("utf-8").replace("\r\n", "\n")
    return result


@dataclasses.dataclass
class Line:
    """One test installation: config, database, gammu-smsd and the daemon."""

    directory: Path
    config: Path
    engine: sa.Engine
    gammu: dummyphone.GammuSmsd | None = None
    daemon: subprocess.Popen[bytes] | None = None
    daemon_log: Any = None

    @property
    def device(self) -> Path:
        assert self.gammu is not None
        return self.gammu.device_dir

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run the surgad CLI as a separate process, as staff would."""
        return run_cli(self.config, *args, check=check, timeout=timeout)

    def start_daemon(self, *args: str, own_group: bool = False) -> subprocess.Popen[bytes]:
        """Start ``surgad run`` as a child process; its log goes to a file.

        ``own_group`` puts it in a process group of its own, as a shell does a
        job, so a test can signal it and its workers together.
        """
        if self.daemon_log is None:
            self.daemon_log = (self.directory / "surgad.log").open("ab")
        self.daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "surgad",
                "--config",
                str(self.config),
                "run",
                *args,
            ],
            stdout=self.daemon_log,
            stderr=subprocess.STDOUT,
            env=cli_env(),
            process_group=0 if own_group else None,
        )
        return self.daemon

    def stop_daemon(self, sig: int = signal.SIGTERM) -> int:
        """Stop the daemon this line started; return its exit status."""
        daemon, self.daemon = self.daemon, None
        if daemon is None:
            return 0
        if daemon.poll() is None:
            daemon.send_signal(sig)
        return daemon.wait(timeout=60)

    @property
    def tables(self) -> db_gammu.Tables:
        """Return gammu's tables as surgad types them on this line's database."""
        return db_gammu.tables(self.engine.dialect.name)

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Run SQL with ``:name`` parameters; gammu's columns may go unquoted.

        SQLite and MariaDB ignore the case of identifiers; PostgreSQL folds an
        unquoted ``DestinationNumber`` to lower case, so there gammu's
        mixed-case column names are quoted before the query runs.
        """
        with self.engine.connect() as conn:
            statement = _portable(sql, self.engine.dialect.name)
            return list(conn.execute(sa.text(statement), params))

    def query_write(self, sql: str, **params: Any) -> None:
        """Run one writing statement (same quoting rules as ``query``) and commit."""
        with self.engine.begin() as conn:
            conn.execute(sa.text(_portable(sql, self.engine.dialect.name)), params)

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.query(sql, **params)[0][0]

    def sent(self, creator_like: str = "surgad/%") -> list[Any]:
        """Return sentitems rows written by surgad, in id and part order."""
        sent = self.tables.sentitems
        columns = (
            "ID",
            "SequencePosition",
            "DestinationNumber",
            "TextDecoded",
            "UDH",
            "Coding",
            "CreatorID",
            "Status",
        )
        query = (
            sa.select(*(sent.c[name] for name in columns))
            .where(sent.c.CreatorID.like(creator_like))
            .order_by(sent.c.ID, sent.c.SequencePosition)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def queued(self, creator_like: str = "%") -> list[Any]:
        """Return outbox rows (not yet sent) whose CreatorID matches, by id."""
        outbox = self.tables.outbox
        query = (
            sa.select(outbox.c.ID, outbox.c.DestinationNumber, outbox.c.Priority)
            .where(outbox.c.CreatorID.like(creator_like))
            .order_by(outbox.c.ID)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def unprocessed(self) -> int:
        """Count inbox rows not yet marked processed, in any dialect."""
        with self.engine.connect() as conn:
            return inbox.pending(conn, self.tables)

    def insert_inbox(
        self, rows: Sequence[dict[str, Any]], conn: sa.Connection | None = None
    ) -> None:
        """Insert inbox rows keyed by gammu's column names, in one transaction.

        A ``ReceivingDateTime`` given as a naive datetime is stored the way
        gammu-smsd stores it in this dialect (text in SQLite). With ``conn``
        the rows go through that connection and are committed there.
        """
        if self.engine.dialect.name == "sqlite":
            rows = [_times_as_text(row) for row in rows]
        if conn is not None:
            conn.execute(sa.insert(self.tables.inbox), list(rows))
            conn.commit()
            return
        with self.engine.begin() as own:
            own.execute(sa.insert(self.tables.inbox), list(rows))

    def settled(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM surgad_inbox_outcome"))

    def wait_settled(self, count: int, timeout: float = 60) -> None:
        wait_for(
            lambda: self.settled() >= count, timeout, f"{count} settled inbox rows"
        )

    def wait_outbox_empty(self, timeout: float = 60) -> None:
        wait_for(
            lambda: self.scalar("SELECT COUNT(*) FROM outbox") == 0,
            timeout,
            "gammu-smsd to send the outbox",
        )

    def daemon_log_text(self) -> str:
        """Return what the daemon logged so far."""
        path = self.directory / "surgad.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


def _times_as_text(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value
        for key, value in row.items()
    }


@functools.cache
def _gammu_identifiers() -> re.Pattern[str]:
    """Match gammu's mixed-case column names as bare words, and quoted text."""
    names = set(re.findall(r'"([A-Za-z]+)"', db_gammu.schema_sql("postgresql")))
    names = {name for name in names if name != name.lower()}
    words = "|".join(sorted(names, key=len, reverse=True))
    return re.compile(rf"""('(?:[^']|'')*'|"[^"]*")|\b({words})\b""")


def _portable(sql: str, dialect: str) -> str:
    """Quote gammu's column names for PostgreSQL; leave quoted text alone."""
    if dialect != "postgresql":
        return sql
    return _gammu_identifiers().sub(
        lambda match: match.group(1) or f'"{match.group(2)}"', sql
    )


def cli_env() -> dict[str, str]:
    """Return the environment a surgad CLI process of the tests runs in."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def gammu_available() -> bool:
    return shutil.which(dummyphone.GAMMU_SMSD) is not None


@pytest.fixture(params=databases.selected())
def backend(request: pytest.FixtureRequest) -> str:
    """Name the database the test runs on; parametrize it to narrow the choice."""
    name: str = request.param
    return name


@pytest.fixture
def database(tmp_path: Path, backend: str) -> Iterator[databases.Database]:
    """Create an empty database for the test on its backend; drop it afterwards."""
    why = databases.unavailable(backend)
    if why is not None:
        _missing(why)
    db = databases.create(backend, tmp_path)
    yield db
    db.drop()


@pytest.fixture
def make_line(
    tmp_path: Path, backend: str, database: databases.Database
) -> Iterator[Callable[..., Line]]:
    """Build lines on the test's backend; stop every process they started after.

    The first line uses the test's database; each further line gets one more.
    """
    lines: list[Line] = []
    extra: list[databases.Database] = []

    def _make(*, with_gammu: bool = True, **config: Any) -> Line:
        directory = tmp_path / f"line{len(lines)}"
        directory.mkdir()
        db = database if not lines else databases.create(backend, directory)
        if db is not database:
            extra.append(db)
        path = write_config(directory, db.url_text, **config)
        # Tested before use: some tests end the server's sessions under it.
        line = Line(directory, path, sa.create_engine(db.url, pool_pre_ping=True))
        lines.append(line)
        line.cli("db", "init")
        if with_gammu:
            if not gammu_available():
                _missing("gammu-smsd is not installed (run ./scripts/setup)")
            line.gammu = dummyphone.GammuSmsd.in_directory(
                directory / "gammu",
                db.gammu_target(),
                tz=TZ,
                extra={"MultipartTimeout": "2"},
            )
            line.gammu.start()
        return line

    yield _make
    for line in lines:
        line.stop_daemon(signal.SIGKILL)
        if line.daemon_log is not None:
            line.daemon_log.close()
        if line.gammu is not None:
            line.gammu.stop()
        line.engine.dispose()
    for db in extra:
        db.drop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the throwaway database servers this run may have started."""
    databases.stop_throwaway_servers()


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this: {why}")
    pytest.skip(why)
