"""The start-up time-zone check: what a host in another zone than surgad's means."""

from __future__ import annotations

import time
import types
from pathlib import Path

import pytest
import structlog

from surgad import config, supervisor

REPO = Path(__file__).resolve().parents[2]


def test_utc_host_is_information_not_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A UTC host is normal: logged at info, naming the TZ gammu-smsd needs."""
    settings = config.load([REPO / "config" / "surgad.toml"])
    monkeypatch.setattr(time, "timezone", 0)
    monkeypatch.setattr(time, "daylight", 0)
    server = types.SimpleNamespace(dialect=types.SimpleNamespace(name="postgresql"))
    with structlog.testing.capture_logs() as logged:
        supervisor.check_timezone(server, settings)
    assert logged == [
        {
            "event": "host_timezone_differs",
            "log_level": "info",
            "host_offset": 0.0,
            "configured": "Asia/Jakarta",
            "configured_offset": 7.0,
            "gammu_smsd_needs": "TZ=Asia/Jakarta",
        }
    ]
