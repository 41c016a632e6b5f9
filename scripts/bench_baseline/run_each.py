"""Run baseline_runonreceive.py once per inbox id, as gammu-smsd's RunOnReceive.

Reads inbox ids from stdin, one per line; for each, starts a fresh interpreter
on baseline_runonreceive.py, waits for it (gammu-smsd runs the program
synchronously too) and prints ``status user_s system_s maxrss_kib`` on stdout.

The benchmark starts this small process instead of starting the programs
itself: a child's peak-memory figure also counts the memory of the process
that spawned it, and this one stays as small as gammu-smsd.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROGRAM = str(Path(__file__).resolve().with_name("baseline_runonreceive.py"))


def main() -> int:
    for line in sys.stdin:
        argv = [sys.executable, PROGRAM, line.strip()]
        pid = os.posix_spawn(sys.executable, argv, os.environ)
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(code, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
