"""A new complaint's row and SMS: to the unit's heads, or to the mayor if it has none."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from surgad import (
    actions,
    config,
    directory,
    escalation,
    intake,
    logs,
    routing,
    tickets,
)
from surgad.conversation import NewComplaint
from surgad.db import outbox

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 4, 2, 0, 0)
CITIZEN = "+6281234567001"
TEXT = "jalan berlubang besar di jl semeru kel banjaran"


@pytest.fixture
def settings(tmp_path: Path) -> config.Settings:
    shutil.copy(REPO / "config" / "surgad.toml", tmp_path / "surgad.toml")
    shutil.copy(REPO / "config" / "units-kediri.toml", tmp_path / "units-kediri.toml")
    return config.load([tmp_path / "surgad.toml"])


def roster(settings: config.Settings, **heads: tuple[str, ...]) -> directory.Directory:
    """Return the configured heads, with some units' heads replaced."""
    numbers = {code: unit.heads for code, unit in settings.units.items()} | heads
    return directory.Directory(
        heads=numbers, units_of={}, mayors=frozenset(settings.mayor_numbers),
        blocked=frozenset(), deadlines={}, loaded_at=0.0,
    )


def new_complaint(unit: str = "PUPR") -> NewComplaint:
    row = intake.InboxRow(id=7, received=NOW, stored=NOW, text_hex="", sender=CITIZEN,
                          coding="Default_No_Compression", udh="", sms_class=-1)
    return NewComplaint(intake.Message((row,), CITIZEN, TEXT, NOW), TEXT, unit, 0.9,
                        "Banjaran", triage=False)


def test_unit_with_heads_gets_the_forward_and_escalates_at_the_deadline(
    settings: config.Settings,
) -> None:
    """The usual case: heads get the forward, the escalation waits for the deadline."""
    row = routing.complaint_row(new_complaint(), settings, roster(settings), NOW)
    assert row["escalate_at"] == row["deadline_at"] and row["escalated_at"] is None
    sms = routing.complaint_sms(new_complaint(), 12, settings, roster(settings))
    kinds = {outbox.creator_kind(item.creator) for item in sms}
    assert kinds == {"ack", "forward"}


def test_unit_without_heads_escalates_to_the_mayor_at_once(settings: config.Settings) -> None:
    """No heads: the row is escalated already, the mayor gets it, the ack says so."""
    headless = roster(settings, PUPR=())
    row = routing.complaint_row(new_complaint(), settings, headless, NOW)
    assert row["escalate_at"] is None and row["escalated_at"] == NOW

    ticket = tickets.encode(12)
    ack, *rest = routing.complaint_sms(new_complaint(), 12, settings, headless)
    assert ack.destination == CITIZEN and "Wali Kota" in ack.text and ticket in ack.text
    assert [(s.destination, s.priority) for s in rest] == [
        (number, outbox.PRIORITY_ESCALATION) for number in settings.mayor_numbers
    ]
    assert all(s.creator == f"surgad/escalation/{ticket}" for s in rest)
    assert rest[0].text.startswith(f"ESKALASI SURGA #{ticket}: Dinas PUPR belum punya")
    assert TEXT in rest[0].text and "Kel. Banjaran" in rest[0].text
    assert CITIZEN not in rest[0].text  # masked as in a forward


def test_drafted_sms_of_a_headless_unit_match_the_written_ones(
    settings: config.Settings,
) -> None:
    """SMS drafted before the id is known say the same as those written after."""
    headless = roster(settings, PUPR=())
    drafts = routing.draft_sms(new_complaint(), 3, settings, headless)
    assert drafts is not None
    filled = routing.fill_sms(drafts, 123)
    written = routing.complaint_sms(new_complaint(), 123, settings, headless)
    assert [(s.destination, s.text, s.creator, s.priority) for s in filled] == [
        (s.destination, s.text, s.creator, s.priority) for s in written
    ]


def test_escalations_at_once_record_and_warn_only_for_headless_units(
    settings: config.Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each complaint escalated for want of heads gets an event, and a warning
    that is logged only when the caller logs its committed changes."""
    logs.setup("info")
    news = [new_complaint("PUPR"), new_complaint("PDAM")]
    changes: list[dict[str, str]] = []
    events = routing.escalations_at_once(
        news, [12, 13], roster(settings, PDAM=()), NOW, changes
    )
    assert events == [{"complaint_id": 13, "at": NOW, "actor": "surgad",
                       "action": "escalated", "detail": "unit PDAM has no heads"}]
    assert capsys.readouterr().out == ""  # nothing before the commit
    actions.log_changes(changes)
    logged = capsys.readouterr().out
    assert '"unit_without_heads"' in logged and '"unit": "PDAM"' in logged
    assert '"warning"' in logged and '"PUPR"' not in logged


def test_recorded_at_finds_only_an_escalation_made_at_that_time() -> None:
    """History reads where a complaint went from the escalation recorded as it was made."""
    later = NOW + dt.timedelta(hours=24)
    at_once = escalation.event(12, NOW, escalation.no_heads("PUPR"))
    overdue = escalation.event(12, later, escalation.OVERDUE)
    note = {"complaint_id": 12, "at": NOW, "actor": "x", "action": "progress", "detail": "y"}
    assert escalation.recorded_at([note, overdue, at_once], NOW) == "unit PUPR has no heads"
    assert escalation.recorded_at([note, overdue], NOW) is None
    assert escalation.recorded_at([overdue], later) == escalation.OVERDUE
