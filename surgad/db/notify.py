"""Let an idle worker wait for new inbox rows instead of polling hard.

On PostgreSQL a trigger on gammu's inbox (migration 0003) sends NOTIFY on
``CHANNEL`` whenever gammu-smsd stores an SMS. A ``Waiter`` there keeps one
connection of its own that LISTENs, and its ``wait`` returns as soon as a
notification arrives; otherwise it waits for a slow safety poll, which still
picks up held parts and anything a lost notification would have announced.
SQLite has no notifications, but every other connection's commit to the file
changes a connection's ``data_version``: a ``Waiter`` there checks that number
every poll interval, which costs far less than a poll of the inbox, so an idle
worker sees a new SMS as fast as a busy one. MariaDB has neither:
there ``wait`` is a plain sleep, and an idle worker asks a ``Peek`` whether
its share of the inbox holds anything before it runs a whole claim pass.

A ``Waiter`` never raises for a database problem: if its connection is lost it
says so in the log, lets the caller poll at once (the caller's retry policy
deals with a server that is down) and listens again later.
"""

from __future__ import annotations

import select
import sqlite3
import time
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from surgad import logs
from surgad.db import engine as db_engine

CHANNEL = "surgad_inbox"
# With a listening connection the poll is only a safety net: it runs this often
# at the least, whatever the configured poll interval.
SAFETY_POLL_INTERVAL = 5.0
# A watched SQLite file misses no commit, so there the poll only picks up the
# held parts of a long SMS whose hold window ran out: at most a tenth of that
# window late, and never less often than SAFETY_POLL_INTERVAL.
WATCHED_SAFETY_POLL_CEILING = 30.0


def watched_safety_poll(hold_window: float) -> float:
    """Return how often a worker watching a SQLite file polls all the same."""
    return min(WATCHED_SAFETY_POLL_CEILING, max(SAFETY_POLL_INTERVAL, hold_window / 10))
# How often a long wait checks whether to stop (and tells it is alive).
STOP_CHECK_INTERVAL = 0.5
# A watched SQLite file that saw no commit for QUIET_AFTER seconds is checked
# only every QUIET_CHECK_INTERVAL: each wake-up of an idle process costs about
# as much CPU as the check itself, and the first SMS after a quiet spell may
# well wait half a second.
QUIET_AFTER = 2.0
QUIET_CHECK_INTERVAL = 0.5
# How long to wait before trying to listen again after a failure.
RECONNECT_INTERVAL = 5.0


def _never() -> bool:
    return False


def _nothing() -> None:
    return None


class _Listener:
    """Own the LISTEN connection; kept apart so a finalizer can close it."""

    def __init__(self) -> None:
        self.connection: Any = None

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()  # psycopg2 closes a broken connection quietly


class Peek:
    """Tell an idle worker whether its share of the inbox holds any unprocessed row.

    For MariaDB, where a wait cannot end early: an empty claim pass there is
    a transaction of three round trips (select, commit, and the pool's
    rollback on return); a peek is one indexed query on a connection of its
    own in autocommit mode. Held parts of a long SMS count as rows, so while
    any wait the worker polls as it would without a peek.
    """

    def __init__(self, engine: sa.Engine, query: sa.Select[Any]) -> None:
        self._engine = engine
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        self._sql = str(compiled)
        self._connection: Any = None
        # Not finalize(self, self.close): the bound method would keep the
        # peek alive, and its connection open, until the process exits.
        self._held: list[Any] = []
        weakref.finalize(self, _close_quietly, self._held)

    def any_waiting(self) -> bool:
        """Return False only if the share is certainly empty right now."""
        try:
            if self._connection is None:
                pooled = self._engine.raw_connection()
                pooled.detach()  # it stays in autocommit mode: not for the pool
                self._connection = pooled.dbapi_connection
                self._held[:] = [self._connection]
                self._connection.autocommit(True)
            with self._connection.cursor() as cursor:
                cursor.execute(self._sql, ())  # () makes the driver read %% as %
                return cursor.fetchone() is not None
        except (sa.exc.SQLAlchemyError, self._engine.dialect.loaded_dbapi.Error, OSError):
            self.close()
            return True  # let the caller poll; its own errors say what is wrong

    def close(self) -> None:
        self._connection = None
        _close_quietly(self._held)


def _close_quietly(held: list[Any]) -> None:
    """Close the connections in ``held`` and forget them."""
    connections, held[:] = list(held), []
    for connection in connections:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a dead socket needs no goodbye
            pass


class _Watcher:
    """Tell whether anyone else committed to a SQLite file since the last look.

    It asks the connection the worker itself last used (the pool hands out the
    most recently returned one), whose ``data_version`` changes with every
    other connection's commit but not with the worker's own: a worker that
    has just written does not wake itself to find nothing new.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.version: tuple[int, int] | None = None
        self.seen_change_at = time.monotonic()

    def changed(self, dbapi_conn: Any = None) -> bool:
        """Return True if the file changed (or cannot be watched) since last time.

        ``dbapi_conn`` is a bare connection checked out of the pool by the
        caller for a whole wait; without it one is checked out for this look.
        """
        try:
            if dbapi_conn is not None:
                version = db_engine.sqlite_data_version(dbapi_conn)
            else:
                with db_engine.bare_connection(self.engine) as checked:
                    version = db_engine.sqlite_data_version(checked)
        except (sa.exc.SQLAlchemyError, sqlite3.Error):
            self.version = None
            return True  # let the caller poll; its own errors say what is wrong
        changed, self.version = version != self.version, version
        if changed:
            self.seen_change_at = time.monotonic()
        return changed

    def close(self) -> None:
        self.version = None


class Waiter:
    """Wait between polls of the inbox; wake early when new rows may be there."""

    def __init__(
        self,
        engine: sa.Engine,
        should_stop: Callable[[], bool] = _never,
        beat: Callable[[], None] = _nothing,
        poll_interval: float = STOP_CHECK_INTERVAL,
        partition: tuple[int, int] = (0, 1),
        watched_safety_poll: float = SAFETY_POLL_INTERVAL,
    ) -> None:
        self._engine = engine
        self._watched_safety_poll = watched_safety_poll
        self._should_stop = should_stop
        self._beat = beat
        self._poll_interval = poll_interval
        self._partition = partition
        self._listens = engine.dialect.name == "postgresql"
        self._listener = _Listener()
        database = engine.url.database
        file_backed = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._watcher = _Watcher(engine) if file_backed else None
        if self._watcher is not None:
            # Take the number before the first poll, so that a commit between
            # that poll and the first wait still wakes the wait.
            self._watcher.changed()
        self._retry_at = 0.0
        self._log = logs.get(channel=CHANNEL)
        # Close the connections when the waiter is dropped, even without close().
        weakref.finalize(self, self._listener.close)
        if self._watcher is not None:
            weakref.finalize(self, self._watcher.close)

    @property
    def wakes_early(self) -> bool:
        """Tell whether a wait ends as soon as new rows may be there."""
        return self._listens or self._watcher is not None

    def close(self) -> None:
        """Stop listening or watching and close the connection, if any."""
        self._listener.close()
        if self._watcher is not None:
            self._watcher.close()

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait(self, timeout: float) -> bool:
        """Wait before the next poll; return True if new rows were announced.

        Without notifications this sleeps ``timeout`` seconds. While listening
        it waits up to the safety poll interval (or ``timeout`` if longer) and
        returns early on a notification. Just after (re)connecting it returns
        True at once: rows stored before LISTEN took effect were announced to
        nobody. Watching a SQLite file it also waits up to the safety poll
        interval and returns True at the first check that sees a commit. Every
        wait ends early when ``should_stop`` says so.
        """
        if self._watcher is not None:
            return self._wait_changed(self._watcher, max(timeout, self._watched_safety_poll))
        if not self._listens:
            self._sleep(timeout)
            return False
        if self._listener.connection is None:
            if self._listen():
                return True
            self._sleep(timeout)
            return False
        return self._wait_notified(max(timeout, SAFETY_POLL_INTERVAL))

    def _sleep(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._should_stop():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, STOP_CHECK_INTERVAL))
            self._beat()

    def _wait_changed(self, watcher: _Watcher, timeout: float) -> bool:
        try:
            # One connection for the whole wait: a check-out per look costs
            # more than the look itself.
            with db_engine.bare_connection(watcher.engine) as dbapi_conn:
                return self._watch(watcher, dbapi_conn, time.monotonic() + timeout)
        except (sa.exc.SQLAlchemyError, sqlite3.Error):
            return True  # let the caller poll; its own errors say what is wrong

    def _watch(self, watcher: _Watcher, dbapi_conn: Any, deadline: float) -> bool:
        while not self._should_stop():
            now = time.monotonic()
            if now >= deadline:
                return False
            quiet = now - watcher.seen_change_at > QUIET_AFTER
            step = QUIET_CHECK_INTERVAL if quiet else min(self._poll_interval, STOP_CHECK_INTERVAL)
            time.sleep(min(deadline - now, step))
            self._beat()
            if watcher.changed(dbapi_conn):
                return True
        return False

    def _listen(self) -> bool:
        """Open the listening connection; False (and try later) if it fails."""
        if time.monotonic() < self._retry_at:
            return False
        try:
            pooled = self._engine.raw_connection()
            # The connection leaves the pool for good: it stays in LISTEN.
            pooled.detach()
            connection: Any = pooled.dbapi_connection
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        except (sa.exc.SQLAlchemyError, self._dbapi_error()) as exc:
            self._retry_at = time.monotonic() + RECONNECT_INTERVAL
            self._log.warning("inbox_listen_failed", error=_first_line(exc))
            return False
        self._listener.connection = connection
        self._log.info("inbox_listening")
        return True

    def _wait_notified(self, timeout: float) -> bool:
        connection = self._listener.connection
        deadline = time.monotonic() + timeout
        try:
            while not self._should_stop():
                if _take_notifications(connection, self._partition):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                readable, _, _ = select.select(
                    [connection], [], [], min(left, STOP_CHECK_INTERVAL)
                )
                if readable:
                    connection.poll()
                self._beat()
        except (OSError, ValueError, self._dbapi_error()) as exc:
            # The server went away or ended this session: poll now, listen later.
            self._log.warning("inbox_listen_lost", error=_first_line(exc))
            self._listener.close()
            return True
        return False

    def _dbapi_error(self) -> type[Exception]:
        error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        return error


def _take_notifications(connection: Any, partition: tuple[int, int]) -> bool:
    """Consume the notifications already received; tell whether one is ours.

    Since migration 0006 a notification's payload is the hash that shares
    the inbox out among workers (``surgad.db.inbox``): worker k of n wakes only
    for hashes equal to k modulo n. An empty or foreign payload wakes anyone.
    """
    if not connection.notifies:
        return False
    payloads = [note.payload for note in connection.notifies]
    connection.notifies.clear()
    index, count = partition
    return any(not p.isdigit() or int(p) % count == index for p in payloads)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
