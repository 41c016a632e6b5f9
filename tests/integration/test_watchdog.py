"""The watchdog: escalations and reminders, each sent once and logged once committed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from surgad import clock, config, tickets, watchdog
from surgad.db import engine as db_engine
from surgad.db import gammu
from tests.integration.conftest import Line
from tests.integration.test_crash import insert_like_gammu


@pytest.fixture
def surgad_engine(make_line: Callable[..., Line]) -> Iterator[tuple[Line, sa.Engine]]:
    """Give a line without gammu-smsd and an engine opened as surgad opens it."""
    line = make_line(with_gammu=False)
    engine = db_engine.create(config.load([line.config]).database_url)
    yield line, engine
    engine.dispose()


def one_complaint(line: Line) -> str:
    """Let the daemon open one complaint, for PUPR (24 h deadline); return its ticket."""
    insert_like_gammu(line, 1)
    line.cli("run", "--once")
    (complaint_id,) = line.query("SELECT id FROM surgad_complaint")[0]
    return tickets.encode(complaint_id)


def scan(line: Line, engine: sa.Engine, hours_later: float) -> int:
    """Run one watchdog pass as if it were ``hours_later`` hours from now."""
    now = clock.utc_now() + dt.timedelta(hours=hours_later)
    settings = config.load([line.config])
    return watchdog.scan(engine, gammu.tables(engine.dialect.name), settings, now=now)


def test_escalation_is_logged_only_once_committed(
    surgad_engine: tuple[Line, sa.Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """complaint_escalated is logged after the commit, never for a rolled-back escalation."""
    line, engine = surgad_engine
    ticket = one_complaint(line)

    def fail(*args: Any) -> None:
        raise RuntimeError("a failure inside the escalation's transaction")

    with monkeypatch.context() as patch, structlog.testing.capture_logs() as failed:
        patch.setattr(watchdog.complaints, "add_events", fail)
        with pytest.raises(RuntimeError):
            scan(line, engine, hours_later=25)
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint WHERE escalated_at IS NULL") == 1
    with structlog.testing.capture_logs() as done:
        assert scan(line, engine, hours_later=25) == 1

    assert [event["event"] for event in failed] == []
    escalated = [event for event in done if event["event"] == "complaint_escalated"]
    assert [(event["ticket"], event["unit"]) for event in escalated] == [(ticket, "PUPR")]
