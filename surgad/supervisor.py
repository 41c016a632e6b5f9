"""Run the worker pool and the watchdog, and answer to signals and systemd.

The supervisor owns no SQL of its own: it starts one process per worker, each
with its share of the inbox, watches their heartbeats, replaces a worker that
died or hung, and runs the escalation watchdog on a timer. Signal handlers only
count signals; the main loop acts on them. The first SIGTERM, SIGINT or SIGHUP
(the terminal of `surgad run` closed) lets every worker finish its batch and
exits 0; a second one exits at once.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.synchronize
import os
import signal
import sys
import time
from collections.abc import Sequence
from multiprocessing import resource_tracker
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa

from surgad import clock, config, directory, logs, retry, systemd, watchdog, worker
from surgad.db import engine as db_engine
from surgad.db import gammu, inbox, schema
from surgad.errors import ConfigError, WorkerLostError

LOOP_INTERVAL = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


# Young objects are collected after this many new ones (Python's default is
# 700). A batch makes tens of thousands of short-lived tuples and dicts, so
# the default runs a collection every few SMS, and promotes batch leftovers
# often enough to set off full collections.
GC_YOUNG_THRESHOLD = 10_000


def settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector off what lives as long as the process.

    By the time a worker polls, the classifier's lexicon, the config and
    SQLAlchemy's tables are loaded: about 100,000 objects that are never
    garbage. Python's full collections walked them all, several times a
    minute under load, which cost a draining worker about 12 µs per SMS,
    a tenth of its CPU. Frozen, they are left out of every collection.
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _worker_main(
    paths: Sequence[str],
    index: int,
    count: int,
    once: bool,
    heartbeats: Any,
    stop: multiprocessing.synchronize.Event,
    log_level: str,
    write_lock: multiprocessing.synchronize.Lock,
    supervisor_pid: int,
) -> None:
    """Run one worker process until the supervisor says stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = False

    def _on_term(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _on_term)
    # A closed terminal sends SIGHUP to the whole process group, workers too.
    signal.signal(signal.SIGHUP, _on_term)
    logs.setup(log_level)
    settings = config.load([Path(path) for path in paths])
    ctx = worker.make_context(settings, (index, count), write_lock)
    settle_garbage_collector()
    log = logs.get(worker=index, pid=os.getpid())
    log.info("worker_started", partition=f"{index}/{count}")

    def _beat() -> None:
        heartbeats[index] = time.time()

    def _should_stop() -> bool:
        # A supervisor killed with SIGKILL cannot tell its workers: an orphaned
        # worker finishes its batch and leaves instead of working unsupervised.
        return stopping or stop.is_set() or os.getppid() != supervisor_pid

    try:
        worker.drain(ctx, _should_stop, _beat, once)
    except Exception:
        # Logged as one JSON event; the supervisor sees the exit and replaces us.
        log.exception("worker_crashed")
        sys.exit(1)
    log.info("worker_stopped")


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker deaf to SIGHUP.

    The tracker unlinks the pool's semaphores when the supervisor exits. It
    ignores SIGINT and SIGTERM but not SIGHUP, which a closed terminal sends
    to the whole process group: killed, it would leave the supervisor to
    warn at exit that it died. An ignored signal stays ignored across the
    exec that starts it.
    """
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)


class Supervisor:
    """Keep ``workers`` processes alive and run the watchdog beside them."""

    def __init__(
        self,
        settings: config.Settings,
        workers: int,
        once: bool,
        log_level: str,
    ) -> None:
        self.settings = settings
        self.count = workers
        self.once = once
        self.log_level = log_level
        self.log = logs.get(role="supervisor", pid=os.getpid())
        self.mp = multiprocessing.get_context("spawn")
        _start_resource_tracker()
        self.heartbeats: Any = self.mp.Array("d", workers, lock=False)
        self.stop = self.mp.Event()
        self.write_lock = self.mp.Lock()
        self.procs: dict[int, multiprocessing.process.BaseProcess] = {}
        self.restarts: list[float] = []
        self.signals = 0
        self.engine = db_engine.create(settings.database_url)
        self.tables = gammu.tables(self.engine.dialect.name)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.signals += 1

    def run(self) -> int:
        """Start the pool and supervise it; return the process exit status."""
        schema.check(self.engine)
        check_timezone(self.engine, self.settings)
        warn_units_without_heads(self.engine, self.settings)
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        for index in range(self.count):
            self._start(index)
        systemd.notify("READY=1")
        self.log.info("surgad_started", workers=self.count, once=self.once)
        status = self._loop()
        systemd.notify("STOPPING=1")
        self.log.info("surgad_stopped", status=status)
        return status

    def _start(self, index: int) -> None:
        self.heartbeats[index] = time.time()
        proc = self.mp.Process(
            target=_worker_main,
            name=f"surgad-worker-{index}",
            args=(
                self.settings.sources,
                index,
                self.count,
                self.once,
                self.heartbeats,
                self.stop,
                self.log_level,
                self.write_lock,
                os.getpid(),
            ),
        )
        proc.start()
        self.procs[index] = proc

    def _loop(self) -> int:
        next_scan = next_ping = 0.0
        ping_every = systemd.watchdog_interval()
        stopping_since: float | None = None
        while True:
            now = time.monotonic()
            if self.signals >= 2:
                self.log.warning("shutdown_forced")
                self._kill_all()
                return 1
            if self.signals == 1 and stopping_since is None:
                self.log.info("shutdown_requested")
                self.stop.set()
                stopping_since = now
            if stopping_since is None and now >= next_scan:
                self._scan()
                next_scan = now + self.settings.watchdog_interval
            if self._check_workers(draining=stopping_since is not None or self.once):
                if self.once:
                    self._scan()
                return 0
            if stopping_since and now - stopping_since > self.settings.shutdown_timeout:
                self.log.warning(
                    "shutdown_timeout", waited=self.settings.shutdown_timeout
                )
                self._kill_all()
                return 0
            if ping_every is not None and now >= next_ping:
                systemd.notify("WATCHDOG=1")
                next_ping = now + ping_every
            time.sleep(LOOP_INTERVAL)

    def _scan(self) -> None:
        try:
            escalated = watchdog.scan(self.engine, self.tables, self.settings)
            watchdog.digest(self.engine, self.tables, self.settings)
        except Exception as exc:
            if retry.is_transient(exc):
                self.log.warning("watchdog_database_unavailable", error=retry.describe(exc))
            else:
                self.log.exception("watchdog_failed")
            return
        if escalated:
            self.log.info("watchdog_scan", escalated=escalated)

    def _check_workers(self, draining: bool) -> bool:
        """Replace dead or hung workers; return True once all have exited."""
        for index, proc in list(self.procs.items()):
            if proc.is_alive():
                self._check_heartbeat(index, proc)
            elif draining:
                proc.join()
                del self.procs[index]
                self._note_exit(index, proc)
            else:
                self.log.error("worker_died", worker=index, exitcode=proc.exitcode)
                self._restart(index)
        return not self.procs

    def _note_exit(self, index: int, proc: multiprocessing.process.BaseProcess) -> None:
        if proc.exitcode:
            self.log.error("worker_failed", worker=index, exitcode=proc.exitcode)
            raise WorkerLostError(f"worker {index} exited with {proc.exitcode}")

    def _check_heartbeat(
        self, index: int, proc: multiprocessing.process.BaseProcess
    ) -> None:
        silent = time.time() - self.heartbeats[index]
        if silent > self.settings.heartbeat_timeout:
            self.log.error("worker_hung", worker=index, silent=round(silent, 1))
            proc.kill()
            proc.join()
            self._restart(index)

    def _restart(self, index: int) -> None:
        now = time.monotonic()
        self.restarts = [at for at in self.restarts if now - at < RESTART_WINDOW] + [
            now
        ]
        if len(self.restarts) > MAX_RESTARTS:
            self._kill_all()
            raise WorkerLostError(
                f"{len(self.restarts)} worker restarts within {RESTART_WINDOW:g} s"
            )
        self._start(index)

    def _kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.is_alive():
                proc.kill()
        for proc in self.procs.values():
            proc.join()
        self.procs.clear()


def warn_units_without_heads(engine: sa.Engine, settings: config.Settings) -> None:
    """Log a warning for each unit whose complaints go straight to the mayor."""
    with db_engine.reading(engine) as conn:
        roster = directory.load(conn, settings)
    for unit in roster.without_heads():
        logs.get().warning("unit_without_heads", unit=unit)


def check_timezone(engine: Any, settings: config.Settings) -> None:
    """Stop start-up if gammu-smsd's stored times disagree with the configured zone.

    In SQLite gammu's insert time is UTC and ``ReceivingDateTime`` is gammu's
    local time, so unprocessed rows show the offset gammu-smsd used.
    """
    expected = clock.zone_offset_hours(settings.zone)
    host = -time.timezone / 3600 if not time.daylight else None
    if host is not None and host != expected:
        # Only information: surgad never uses the host's zone (it keeps UTC and
        # reads gammu's times in service.timezone). What matters is gammu-smsd's
        # own TZ, which this process cannot see; the check below reads it from
        # the data where it can, and a UTC host is a normal one.
        logs.get().info(
            "host_timezone_differs", host_offset=host, configured=settings.timezone,
            configured_offset=expected, gammu_smsd_needs=f"TZ={settings.timezone}",
        )
    if engine.dialect.name != "sqlite":
        return
    with db_engine.reading(engine) as conn:
        pairs = inbox.recent_time_pairs(conn, gammu.tables("sqlite"), limit=50)
    observed = clock.observed_offset_hours(pairs) if len(pairs) >= 3 else None
    if observed is not None and abs(observed - expected) >= 1:
        raise ConfigError(
            settings.timezone_source,
            "service.timezone",
            f"gammu-smsd stores times at UTC{observed:+g} but {settings.timezone} is "
            f"UTC{expected:+g}: set TZ for gammu-smsd or fix the setting",
        )
