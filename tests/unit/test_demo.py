"""The demo's summary explains its own figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from surgad import tickets

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("surgad_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_summary_says_why_acknowledgements_are_fewer_than_complaints() -> None:
    """Complaints without an acknowledgement are counted and put down to the reply limit."""
    acked = {f"surgad/ack/{tickets.encode(i)}" for i in (1, 2, 4)}
    line = load_demo().acknowledgement_line([1, 2, 3, 4, 5], acked, 10)
    assert "\n" not in line
    assert "without acknowledgement: 2 of 5" in line
    assert "10 automatic replies an hour" in line and "replies_per_hour" in line
