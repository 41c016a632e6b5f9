"""Time the escalation scan: surgad's watchdog against a naive full scan.

Measured right after the preload, while the complaint table holds the history
(5 % open; the open ones past their deadline were escalated already, so a
scan finds nothing due, as on most of a real day). surgad's ``watchdog.scan``
runs in this process exactly as the supervisor calls it, connection and
transaction included; the naive scan is the query a cron job without
surgad's ``escalate_at`` index would run, with every index on the table
ignored.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

import plain_db

from bench_lib import targets
from surgad import config, watchdog
from surgad.db import engine as db_engine
from surgad.db import gammu

NAIVE_QUERY = (
    "SELECT id, unit_code, text, received_at FROM surgad_complaint{hint} "
    "WHERE status = 'open' AND escalated_at IS NULL AND acked_at IS NULL "
    "AND deadline_at <= %s"
)
HINTS = {"sqlite": " NOT INDEXED", "mysql": " USE INDEX ()", "postgresql": ""}


def measure(target: targets.Target, runs: int, due: int) -> dict[str, Any]:
    """Return median scan times (ms) of surgad and the naive query."""
    settings = config.load(target.configs)
    engine = db_engine.create(settings.database_url)
    tables = gammu.tables(engine.dialect.name)
    found = watchdog.scan(engine, tables, settings)  # warm-up
    surgad_ms = [
        _timed(lambda: watchdog.scan(engine, tables, settings)) for _ in range(runs)
    ]
    naive_ms = _naive(target, runs)
    result = {
        "surgad_ms": statistics.median(surgad_ms),
        "surgad_max_ms": max(surgad_ms),
        "naive_ms": statistics.median(naive_ms),
        "found_at_warmup": found,
        "runs": runs,
    }
    if due:
        _make_due(target, due)
        started = time.perf_counter()
        escalated = watchdog.scan(engine, tables, settings)
        result["due"] = due
        result["due_escalated"] = escalated
        result["due_ms"] = (time.perf_counter() - started) * 1000
    engine.dispose()
    return result


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _naive(target: targets.Target, runs: int) -> list[float]:
    db = target.connect(autocommit=False)
    now = db.time(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    query = NAIVE_QUERY.format(hint=HINTS[db.kind])
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        if db.kind == "postgresql":
            for setting in ("indexscan", "bitmapscan", "indexonlyscan"):
                db.execute(f"SET LOCAL enable_{setting} = off")
        db.execute(query, (now,)).fetchall()
        db.commit()
        times.append((time.perf_counter() - started) * 1000)
    db.close()
    return times[1:]


def _make_due(target: targets.Target, count: int) -> None:
    """Make ``count`` open complaints overdue and not yet escalated."""
    db: plain_db.Db = target.connect(autocommit=False)
    past = db.time(dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1))
    ids = [
        row[0]
        for row in db.execute(
            "SELECT id FROM surgad_complaint WHERE status = 'open' "
            f"ORDER BY id LIMIT {int(count)}"
        ).fetchall()
    ]
    db.begin_write()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.execute(
            "UPDATE surgad_complaint SET escalate_at = %s, escalated_at = NULL "
            f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
            (past, *chunk),
        )
    db.commit()
    db.close()
