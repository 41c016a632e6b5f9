"""Logging: where staff commands' events go."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from surgad import logs


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("chosen", "stream", "level"),
    [
        (None, _Terminal(), "warning"),
        (None, io.StringIO(), "info"),
        ("info", _Terminal(), "info"),
        ("error", io.StringIO(), "error"),
    ],
)
def test_staff_events_below_warning_stay_off_a_terminal(
    chosen: str | None, stream: io.StringIO, level: str
) -> None:
    """At a terminal only warnings show; elsewhere info events; a chosen level wins."""
    assert logs.staff_level(chosen, stream) == level


def test_an_event_reaches_the_os_in_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes sharing stdout cannot interleave inside a line: one write(2) each."""
    written: list[bytes] = []
    real_write = os.write

    def recording_write(fd: int, data: bytes) -> int:
        written.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", recording_write)
    with (tmp_path / "log").open("a", encoding="utf-8") as stream:
        logs.setup("info", stream)
        logs.get().info("batch_done", note="x" * 3000, text="jalan rusak ✓")
    assert len(written) == 1 and written[0].endswith(b"\n") and written[0].count(b"\n") == 1
    assert json.loads(written[0])["event"] == "batch_done"
