"""The worker process's garbage collector settings (see settle_garbage_collector)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from surgad import supervisor
kept = [dict(n=n) for n in range(1000)]
supervisor.settle_garbage_collector()
print(gc.get_freeze_count() >= len(kept), gc.get_threshold()[0])
"""


def test_long_lived_objects_are_left_out_of_collections() -> None:
    # In a fresh interpreter: freezing this one would change the test run.
    found = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == ["True", "10000"]
