"""Start the systems under test and read their CPU time and memory from /proc.

CPU of a process tree is the user + system time of every live process in it
plus the time of the children each has already reaped (``cutime``/``cstime``),
so a tree's total is right whether workers live or have exited. Memory is the
sum of the resident set sizes (VmRSS) of the live processes.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Usage:
    """CPU seconds and resident bytes of a process tree at one moment."""

    cpu: float
    rss: int
    processes: int


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; fields follow the last ')'.
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Return the pids of every descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cpu(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 here.
    return sum(int(value) for value in fields[11:15]) / TICKS


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_usage(pid: int) -> Usage:
    """Return the CPU time and resident memory of ``pid`` and its descendants."""
    pids = [pid, *children(pid)]
    return Usage(
        cpu=sum(_cpu(p) for p in pids),
        rss=sum(_rss(p) for p in pids),
        processes=len(pids),
    )


def machine_busy() -> float:
    """Return the CPU seconds all cores have spent busy since boot.

    Compared with the system's own CPU time over the same window it shows how
    much else ran on the machine: other sessions' tests, the database servers.
    """
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def start(
    argv: Sequence[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-running program with its output appended to ``log``."""
    handle: IO[bytes] = log.open("ab")
    try:
        return subprocess.Popen(
            list(argv), stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
    finally:
        handle.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """Send SIGTERM, wait up to ``timeout`` (then SIGKILL); return the exit status."""
    if process.poll() is not None:
        raise RuntimeError(f"{process.args!r} exited early with {process.returncode}")
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
