"""Internals of scripts/bench.py.

The comparison programs in scripts/bench_baseline run as scripts and import
each other by bare name (``import plain_db``); their folder goes on the path
here so the benchmark imports the very same modules.
"""

import sys
from pathlib import Path

PROGRAMS = Path(__file__).resolve().parents[1] / "bench_baseline"
if str(PROGRAMS) not in sys.path:
    sys.path.insert(0, str(PROGRAMS))
