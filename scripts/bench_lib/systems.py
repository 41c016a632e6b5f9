"""Run each system under test through its measurements on one target.

Every measurement counts complaints, the one thing all four systems write per
SMS: progress is the highest complaint id (cheap to read), confirmed by an
exact count at the end. CPU and memory come from /proc for the system's whole
process tree (the benchmark's own process and the database servers are not in
it).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plain_db

from bench_lib import procs, targets

SCRIPTS = Path(__file__).resolve().parents[1]
PROGRAMS = SCRIPTS / "bench_baseline"
BACKLOG_PREFIX = "+62857"
SAMPLE_INTERVAL = 0.1
SETTLE_SECONDS = 3.0


class Senders:
    """Hand out sender numbers no earlier SMS of the run used."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, count: int) -> int:
        first, self.used = self.used, self.used + count
        return first


@dataclasses.dataclass
class Sample:
    at: float
    done: int
    cpu: float
    rss: int
    others: float  # CPU s the rest of the machine used so far (this process aside)


def _others(system_cpu: float) -> float:
    """Return busy CPU seconds of the machine minus the system's and ours."""
    return procs.machine_busy() - system_cpu - time.process_time()


def surgad_argv(target: targets.Target) -> list[str]:
    """Return the command line of the real daemon on this target."""
    argv = [sys.executable, "-m", "surgad"]
    for path in target.configs:
        argv += ["--config", str(path)]
    return [*argv, "run"]


def program_argv(name: str, *args: str) -> list[str]:
    """Return the command line of one of the comparison programs."""
    return [sys.executable, str(PROGRAMS / name), *args]


class RunOnReceive:
    """Stand in for gammu-smsd running the baseline program once per SMS."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            program_argv("run_each.py"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def run(self, inbox_id: int) -> tuple[int, float, int]:
        """Handle one inbox row; return (exit status, CPU seconds, peak bytes)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{inbox_id}\n")
        self.process.stdin.flush()
        status, user, system, maxrss = self.process.stdout.readline().split()
        return int(status), float(user) + float(system), int(maxrss) * 1024

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# --- drain ------------------------------------------------------------------


def watch(
    db: plain_db.Db,
    pid: int,
    base_id: int,
    first_row: int,
    count: int,
    timeout: float,
) -> list[Sample]:
    """Sample progress, CPU and memory until the backlog is settled.

    Done when ``count`` complaints exist, or, should some SMS not become
    complaints, when no backlog row is left unprocessed (checked every 2 s).
    """
    samples: list[Sample] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = targets.max_complaint_id(db) - base_id
        usage = procs.tree_usage(pid)
        samples.append(
            Sample(time.monotonic(), done, usage.cpu, usage.rss, _others(usage.cpu))
        )
        if done >= count or len(samples) % 20 == 0:
            if targets.complaints_since(db, base_id) >= count:
                samples[-1].done = count
                return samples
            if targets.unprocessed_from(db, first_row) == 0:
                samples[-1].done = targets.complaints_since(db, base_id)
                return samples
        time.sleep(SAMPLE_INTERVAL)
    raise TimeoutError(f"only {samples[-1].done} of {count} complaints in {timeout} s")


def summarize_drain(
    samples: Sequence[Sample], started: float, count: int
) -> dict[str, Any]:
    """Turn drain samples into rate, drain time, CPU per 1,000 and peak memory.

    Rate and CPU are taken between the last sample below 10 % and the first at
    or above 90 % of the complaints made, leaving out start-up and the tail.
    """
    made = samples[-1].done
    first = max(
        (s for s in samples if s.done < 0.1 * made),
        key=lambda s: s.at,
        default=samples[0],
    )
    last = next(s for s in samples if s.done >= 0.9 * made)
    done = last.done - first.done
    seconds = last.at - first.at
    return {
        "count": count,
        "complaints": made,
        "drain_seconds": samples[-1].at - started,
        "rate": done / seconds if seconds > 0 else float("nan"),
        "cpu_per_1000": (last.cpu - first.cpu) / done * 1000 if done else float("nan"),
        "peak_rss": max(s.rss for s in samples),
        "other_cores": (last.others - first.others) / seconds if seconds > 0 else None,
        "timeline": [
            (round(s.at - started, 2), s.done)
            for s in samples[:: max(1, len(samples) // 100)]
        ],
    }


def drain_daemon(
    target: targets.Target,
    argv: Sequence[str],
    count: int,
    texts: Sequence[Sequence[str]],
    senders: Senders,
    log: Path,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Insert a backlog, start a long-running system, time its drain.

    Returns the still-running process for the idle and latency measurements.
    """
    low, _ = targets.insert_backlog(
        target, BACKLOG_PREFIX, senders.take(count), count, texts
    )
    db = target.connect(autocommit=False)
    base = targets.max_complaint_id(db)
    started = time.monotonic()
    process = procs.start(argv, target.env(), log, cwd=targets.REPO)
    try:
        samples = watch(db, process.pid, base, low, count, timeout)
        left = targets.unprocessed_from(db, low)
    except BaseException:
        procs.stop(process)
        raise
    finally:
        db.close()
    result = summarize_drain(samples, started, count)
    result["unprocessed_left"] = left
    result["processes"] = procs.tree_usage(process.pid).processes
    return process, result


def drain_baseline(
    target: targets.Target,
    count: int,
    texts: Sequence[Sequence[str]],
    senders: Senders,
) -> dict[str, Any]:
    """Run one fresh process per SMS of a backlog, one after the other."""
    low, high = targets.insert_backlog(
        target, BACKLOG_PREFIX, senders.take(count), count, texts
    )
    db = target.connect(autocommit=True)
    ids = [
        row[0]
        for row in db.execute(
            'SELECT "ID" FROM inbox WHERE "ID" BETWEEN %s AND %s ORDER BY "ID"',
            (low, high),
        ).fetchall()
    ]
    base = targets.max_complaint_id(db)
    cpu, peak_rss, failures = 0.0, 0, 0
    runner = RunOnReceive(target.env())
    started = time.monotonic()
    others = _others(0.0)
    for inbox_id in ids:
        status, used, peak = runner.run(inbox_id)
        failures += status != 0
        cpu += used
        peak_rss = max(peak_rss, peak)
    seconds = time.monotonic() - started
    others = _others(cpu) - others
    runner.close()
    made = targets.complaints_since(db, base)
    left = targets.unprocessed_from(db, low)
    db.close()
    return {
        "count": count,
        "measured_seconds": seconds,
        "rate": made / seconds,
        "drain_seconds": None,  # filled in by extrapolation
        "cpu_per_1000": cpu / count * 1000,
        "peak_rss": peak_rss,
        "failures": failures,
        "complaints": made,
        "unprocessed_left": left,
        "processes": 1,
        "other_cores": others / seconds,
    }


# --- idle and latency ---------------------------------------------------------


def idle(pid: int, seconds: float) -> dict[str, Any]:
    """Return the share of one core a settled, idle system uses."""
    time.sleep(SETTLE_SECONDS)
    before = procs.tree_usage(pid)
    others = _others(before.cpu)
    time.sleep(seconds)
    after = procs.tree_usage(pid)
    return {
        "seconds": seconds,
        "cpu_share": (after.cpu - before.cpu) / seconds,
        "rss": after.rss,
        "other_cores": (_others(after.cpu) - others) / seconds,
    }


def latency(
    target: targets.Target,
    pid: int | None,
    rate: float,
    count: int,
    texts_file: Path,
    senders: Senders,
    workdir: Path,
    run_baseline: bool = False,
) -> dict[str, Any]:
    """Inject SMS at ``rate`` per second; measure inbox commit to outbox insert."""
    targets.add_latency_probe(target)
    out = workdir / "inject-times.json"
    first = senders.take(count)
    injector = subprocess.Popen(
        program_argv(
            "inject.py",
            "--texts", str(texts_file),
            "--rate", str(rate),
            "--count", str(count),
            "--prefix", targets.LATENCY_PREFIX,
            "--first", str(first),
            "--out", str(out),
        ),
        env=target.env(),
    )  # fmt: skip
    before = procs.tree_usage(pid) if pid else None
    baseline_cpu = _serve_baseline(target, injector, count) if run_baseline else None
    if injector.wait() != 0:
        raise RuntimeError("the injector failed")
    after = procs.tree_usage(pid) if pid else None
    sent = _wait_sent(target, count, timeout=max(60.0, count / 10))
    injected = json.loads(out.read_text(encoding="utf-8"))
    delays = sorted(
        (sent[sender] - committed) * 1000
        for sender, committed, _ in injected
        if sender in sent
    )
    cpu = baseline_cpu if baseline_cpu is not None else _delta(before, after)
    return {
        "rate": rate,
        "count": count,
        "measured": len(delays),
        "missing": count - len(delays),
        "p50_ms": _quantile(delays, 0.50),
        "p99_ms": _quantile(delays, 0.99),
        "max_ms": delays[-1] if delays else None,
        "cpu_per_1000": cpu / count * 1000 if cpu is not None else None,
        "inject_late_max_ms": max((c - due) * 1000 for _, c, due in injected),
    }


def _delta(before: procs.Usage | None, after: procs.Usage | None) -> float | None:
    return after.cpu - before.cpu if before and after else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def _wait_sent(target: targets.Target, count: int, timeout: float) -> dict[str, float]:
    """Wait until the probe saw an acknowledgement for every injected SMS."""
    db = target.connect(autocommit=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = db.execute("SELECT COUNT(DISTINCT dest) FROM bench_sent").fetchone()[0]
        if seen >= count:
            break
        time.sleep(0.2)
    db.close()
    return targets.remove_latency_probe(target)


def _serve_baseline(
    target: targets.Target, injector: subprocess.Popen[bytes], count: int
) -> float:
    """Act as gammu-smsd's RunOnReceive: one process per new row, in order.

    gammu-smsd runs the program synchronously, so SMS wait their turn; a new
    row is picked up within 10 ms of its commit.
    """
    db = target.connect(autocommit=True)
    last = db.execute('SELECT MAX("ID") FROM inbox').fetchone()[0] or 0
    handled, cpu = 0, 0.0
    runner = RunOnReceive(target.env())
    while handled < count:
        new = [
            row[0]
            for row in db.execute(
                'SELECT "ID" FROM inbox WHERE "ID" > %s ORDER BY "ID"', (last,)
            ).fetchall()
        ]
        if not new:
            if injector.poll() not in (None, 0):
                break
            time.sleep(0.01)
            continue
        for inbox_id in new:
            cpu += runner.run(inbox_id)[1]
            last, handled = inbox_id, handled + 1
    runner.close()
    db.close()
    return cpu
