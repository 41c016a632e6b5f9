"""Run the real gammu-smsd beside surgad on SQLite and count its lock errors.

gammu-smsd's SQLite connection waits for no lock: every lock it meets is a
``database is locked`` line in its log, a sleep and a reconnect. With gammu on
the dummy phone (LoopSleep 1) and surgad running, SMS arrive through the dummy
SIM at one a second; the lines gammu logs in that window are counted. A second
window does the same while surgad also drains a backlog, the case where its
write transactions are longest.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from typing import Any

from bench_lib import procs, systems, targets
from surgad import dummyphone

TZ = "Asia/Jakarta"
GAMMU_PREFIX = "+62859"
LOCKED = "database is locked"


def run(
    target: targets.Target,
    seconds: float,
    backlog: int,
    texts: Sequence[Sequence[str]],
    senders: systems.Senders,
) -> dict[str, Any]:
    """Return lock-error counts for a steady window and a backlog window."""
    targets.clear_outbox(target)
    workdir = target.workdir / "gammu"
    shutil.rmtree(workdir, ignore_errors=True)
    smsd = dummyphone.GammuSmsd.in_directory(
        workdir, dummyphone.DbTarget.sqlite(target.sqlite_path), tz=TZ, loop_sleep=1
    )
    daemon = procs.start(
        systems.surgad_argv(target), target.env(), target.workdir / "surgad-gammu.log"
    )
    try:
        smsd.start()
        result: dict[str, Any] = {
            "steady": _window(target, smsd, seconds, texts, senders, 0)
        }
        if backlog:
            result["backlog"] = _window(target, smsd, None, texts, senders, backlog)
    finally:
        smsd.stop()
        procs.stop(daemon)
    surgad_log = (target.workdir / "surgad-gammu.log").read_text(errors="replace")
    result["surgad_retries"] = surgad_log.count('"database_retry"')
    return result


def _window(
    target: targets.Target,
    smsd: dummyphone.GammuSmsd,
    seconds: float | None,
    texts: Sequence[Sequence[str]],
    senders: systems.Senders,
    backlog: int,
) -> dict[str, Any]:
    """Feed one SMS a second until ``seconds`` pass or the backlog is drained."""
    db = target.connect(autocommit=False)
    base = targets.max_complaint_id(db)
    offset = len(smsd.log_text())
    low = 0
    if backlog:
        low, _ = targets.insert_backlog(
            target, systems.BACKLOG_PREFIX, senders.take(backlog), backlog, texts
        )
    started = time.monotonic()
    fed = 0
    while True:
        elapsed = time.monotonic() - started
        if seconds is not None and elapsed >= seconds:
            break
        if seconds is None and targets.unprocessed_from(db, low) == 0:
            break
        if elapsed > 900:
            raise TimeoutError("surgad did not drain the backlog beside gammu-smsd")
        text = texts[fed % len(texts)][0]
        dummyphone.inject_incoming(smsd.device_dir, _sender(senders), text)
        fed += 1
        time.sleep(max(0.0, started + fed - time.monotonic()))
    expected = fed + backlog
    stored = _wait_complaints(db, base, expected, timeout=60)
    db.close()
    log = smsd.log_text()[offset:].splitlines()
    return {
        "seconds": time.monotonic() - started,
        "sms_fed": fed,
        "backlog": backlog,
        "complaints": stored,
        "locked_lines": sum(LOCKED in line for line in log),
        # gammu logs two such lines per failed statement, then reconnects.
        "locked_statements": sum(
            "SQL failure" in line and LOCKED in line for line in log
        ),
        "error_lines": sum(_is_error(line) for line in log),
    }


def _is_error(line: str) -> bool:
    """Tell an error line from gammu's noise (libdbi's -6 on an empty outbox)."""
    lower = line.lower()
    return "error" in lower and "no error" not in lower and "dbi error -6" not in lower


def _sender(senders: systems.Senders) -> str:
    return f"{GAMMU_PREFIX}{senders.take(1):08d}"


def _wait_complaints(db: Any, base: int, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        made = targets.complaints_since(db, base)
        if made >= expected or time.monotonic() > deadline:
            return made
        time.sleep(0.5)
