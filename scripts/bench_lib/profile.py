"""Profile surgad's hot path: ``worker.process_batch`` in this process.

A SQLite target is preloaded and given a backlog; one worker context drains
it batch by batch under cProfile, with no other worker competing for the
write lock, so the profile shows what one SMS costs surgad's own code.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_lib import targets
from surgad import config, supervisor, worker

STAGES = (
    ("worker.py", "process_batch"),
    ("worker.py", "_read"),
    ("inbox.py", "fetch_batch"),
    ("inbox.py", "fetch_parts"),
    ("inbox.py", "known_keys"),
    ("intake.py", "sort_rows"),
    ("worker.py", "_write"),
    ("routing.py", "plan"),
    ("classifier.py", "classify"),
    ("inbox.py", "mark_processed"),
    ("complaints.py", "insert"),
    ("routing.py", "complaint_sms"),
    ("outbox.py", "queue"),
    ("codec.py", "split"),
    ("inbox.py", "record_outcomes"),
    ("complaints.py", "add_events"),
)


def run(
    workdir: Path, preload: int, backlog: int, texts: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """Drain ``backlog`` SMS through process_batch; return timings and stats text."""
    target = targets.make("sqlite", workdir / "profile", {})
    targets.create(target, {})
    targets.surgad_cli(target, "db", "init")
    targets.preload(target, preload, texts)
    ctx = worker.make_context(config.load(target.configs))
    supervisor.settle_garbage_collector()  # as a worker process does

    # First without the profiler, for the true cost per SMS.
    targets.insert_backlog(target, "+62857", 0, backlog, texts)
    started = time.perf_counter()
    while worker.process_batch(ctx).read:
        pass
    plain_seconds = time.perf_counter() - started

    targets.insert_backlog(target, "+62857", backlog, backlog, texts)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    batches = 0
    while worker.process_batch(ctx).read:
        batches += 1
    profiler.disable()
    seconds = time.perf_counter() - started
    ctx.engine.dispose()

    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    return {
        "sms": backlog,
        "batches": batches,
        "seconds": seconds,
        "profiled_seconds": total,
        "us_per_sms": seconds / backlog * 1e6,
        "plain_us_per_sms": plain_seconds / backlog * 1e6,
        "stages": _stages(stats, backlog),
        "top_tottime": _text(profiler, "tottime", 30),
        "top_cumulative": _text(profiler, "cumulative", 45),
    }


def _stages(stats: pstats.Stats, sms: int) -> list[tuple[str, float, float]]:
    """Return (function, cumulative s, µs per SMS) for the named stages."""
    entries = stats.stats  # type: ignore[attr-defined]
    found = []
    for filename, name in STAGES:
        cumulative = sum(
            value[3]
            for (path, _line, func), value in entries.items()
            if path.endswith("/" + filename) and func == name
        )
        label = f"{filename.removesuffix('.py')}.{name}"
        found.append((label, cumulative, cumulative / sms * 1e6))
    return found


def _text(profiler: cProfile.Profile, key: str, limit: int) -> str:
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats(key).print_stats(limit)
    return buffer.getvalue()


def lines(found: dict[str, Any]) -> list[str]:
    """Return the profile summary as markdown."""
    out = [
        "# surgad hot path profile (worker.process_batch, one process, SQLite)",
        "",
        f"{found['sms']:,} SMS in {found['batches']} batches. Without the profiler: "
        f"{found['plain_us_per_sms']:,.0f} µs per SMS "
        f"({1e6 / found['plain_us_per_sms']:,.0f} SMS/s in one process); under "
        f"cProfile {found['us_per_sms']:,.0f} µs per SMS (compare shares, not "
        "absolutes).",
        "",
        "| stage (cumulative) | seconds | µs per SMS |",
        "|---|---:|---:|",
    ]
    out += [
        f"| {name} | {sec:.2f} | {per:,.0f} |" for name, sec, per in found["stages"]
    ]
    out += ["", "```", found["top_tottime"].strip(), "```"]
    out += ["", "```", found["top_cumulative"].strip(), "```"]
    return out
