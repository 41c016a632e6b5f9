"""A batch decided before the write lock is written only if nothing it read changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from surgad import config, worker
from surgad.db import engine as db_engine
from tests.integration.conftest import Line
from tests.integration.test_modems import inbox_row

CITIZEN = "+6281234500077"
POTHOLE = "Jalan di depan SDN Mojoroto 2 berlubang besar, sudah 2 motor jatuh"
FLOOD = "Saluran air di Jl. Semeru mampet, tiap hujan banjir sampai rumah warga"


def _line_with_one_complaint_an_hour(make_line: Callable[..., Line]) -> Line:
    line = make_line(with_gammu=False)
    with line.config.open("a", encoding="utf-8") as handle:
        handle.write("\n[limits]\ncomplaints_per_hour = 1\n")
    return line


def _plan_then_other_worker(line: Line, meanwhile_from: str) -> tuple[int, int, worker.Plan]:
    """Plan CITIZEN's complaint on a snapshot, let another worker open a complaint
    from ``meanwhile_from``, then write the plan; return (inbox id, made, plan)."""
    settings = config.load([line.config])
    line.insert_inbox([inbox_row(CITIZEN, POTHOLE, "")])
    first = worker.make_context(settings)
    with db_engine.reading(first.engine) as conn:
        rows, sorting = worker._read(first, conn, 100, lock=False)
        plan = worker._plan(first, conn, sorting)
    assert plan.batch is not None and len(plan.batch.new) == 1

    line.insert_inbox([inbox_row(meanwhile_from, FLOOD, "")])
    other = worker.make_context(settings)
    other.cursor = rows[0].id
    assert worker.process_batch(other).complaints == 1

    with db_engine.writing(first.engine) as conn:
        made = worker._write(first, conn, sorting, plan)
    return rows[0].id, made, plan


def test_plan_is_decided_again_when_its_sender_changed_meanwhile(
    make_line: Callable[..., Line],
) -> None:
    """Another worker opens a complaint for the same number between the snapshot
    and the write: the planned complaint would break the hourly limit, so the
    batch is decided again and the SMS is rejected instead."""
    line = _line_with_one_complaint_an_hour(make_line)
    inbox_id, made, plan = _plan_then_other_worker(line, CITIZEN)
    assert plan.redecided
    assert made == 0
    outcomes = line.query(
        "SELECT outcome, reason FROM surgad_inbox_outcome WHERE inbox_id = :id", id=inbox_id
    )
    assert [tuple(row) for row in outcomes] == [("rejected", "over the hourly complaint limit")]
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 1


def test_plan_is_written_as_decided_when_nothing_changed(
    make_line: Callable[..., Line],
) -> None:
    """Other senders' traffic between snapshot and write leaves the plan as it is."""
    line = _line_with_one_complaint_an_hour(make_line)
    _inbox_id, made, plan = _plan_then_other_worker(line, "+6281234500078")
    assert not plan.redecided
    assert made == 1
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 2


def test_a_follow_up_decided_beside_its_complaint_stays_a_follow_up(
    make_line: Callable[..., Line],
) -> None:
    """Two workers handling complaints and their follow-ups, stored one after the
    other, make one complaint and one follow-up per citizen, on SQLite too."""
    line = make_line(with_gammu=False)
    numbers = [f"+62813550{index:05d}" for index in range(20)]
    rows = []
    for index, number in enumerate(numbers):
        rows.append(inbox_row(number, f"jalan rusak berlubang besar di jl brawijaya {index}", ""))
        later = inbox_row(
            number, f"tambahan: lubang jalan di jl brawijaya {index} makin dalam, motor jatuh", ""
        )
        later["ReceivingDateTime"] += dt.timedelta(seconds=30)  # type: ignore[operator]
        rows.append(later)
    line.start_daemon("--workers", "2")
    for row in rows:  # one commit each, as gammu-smsd stores them
        line.insert_inbox([row])
    line.wait_settled(len(rows))

    outcomes = dict(line.query(
        "SELECT outcome, COUNT(*) FROM surgad_inbox_outcome GROUP BY outcome"
    ))
    assert outcomes == {"complaint": 20, "followup": 20}
    texts = [text for (text,) in line.query("SELECT text FROM surgad_complaint")]
    assert all(text.startswith("jalan rusak") for text in texts)
