"""The watchdog: escalations and reminders, each sent once and logged once committed."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from surgad import clock, config, escalation, tickets, watchdog
from surgad.db import engine as db_engine
from surgad.db import gammu
from tests.integration.conftest import MAYOR, Line
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


def test_reminder_for_a_unit_that_lost_its_heads_escalates_at_once_and_once(
    surgad_engine: tuple[Line, sa.Engine],
) -> None:
    """Nobody to remind: the mayor gets the complaint at the reminder time, once.

    Two watchdogs racing, a later pass and the deadline itself send nothing more;
    a unit that kept its heads still has them reminded, and escalated at its
    deadline.
    """
    line, engine = surgad_engine
    insert_like_gammu(line, 2)  # a pothole (PUPR), then rubbish (DLHKP)
    line.cli("run", "--once")
    line.query_write("DELETE FROM surgad_head WHERE unit_code = 'PUPR'")
    (pupr,) = line.query("SELECT id FROM surgad_complaint WHERE unit_code = 'PUPR'")[0]
    (dlhkp,) = line.query("SELECT id FROM surgad_complaint WHERE unit_code = 'DLHKP'")[0]
    ticket = tickets.encode(pupr)

    escalated: list[int] = []
    with structlog.testing.capture_logs() as logged:
        racers = [
            threading.Thread(target=lambda: escalated.append(scan(line, engine, 21)))
            for _ in range(2)
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        escalated += [scan(line, engine, 21), scan(line, engine, 25)]

    assert escalated[2:] == [0, 1] and sorted(escalated[:2]) == [0, 1]
    to_mayor = line.query(
        "SELECT DestinationNumber, Priority FROM outbox WHERE CreatorID = :creator",
        creator=f"surgad/escalation/{ticket}",
    )
    assert to_mayor == [(MAYOR, 100)]
    reminded = line.query(
        "SELECT DestinationNumber FROM outbox WHERE CreatorID LIKE 'surgad/reminder/%'"
    )
    assert reminded == [("+6281200000002",)]  # DLHKP's head, not PUPR's nobody
    events = line.query(
        "SELECT complaint_id, detail FROM surgad_event WHERE action = 'escalated' ORDER BY id"
    )
    assert events == [(pupr, "unit PUPR has no heads"), (dlhkp, escalation.OVERDUE)]
    row = line.query(
        "SELECT escalate_at, escalated_at, remind_at FROM surgad_complaint WHERE id = :id",
        id=pupr,
    )[0]
    assert row.escalate_at is None and row.escalated_at is not None and row.remind_at is None
    warnings = [event for event in logged if event["event"] == "unit_without_heads"]
    assert [(w["log_level"], w["unit"], w["ticket"]) for w in warnings] == [
        ("warning", "PUPR", ticket)
    ]
