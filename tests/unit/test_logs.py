"""Logging: where staff commands' events go."""

from __future__ import annotations

import io

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
