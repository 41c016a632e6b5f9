"""The complaint line end to end: SMS into gammu-smsd, SMS out in sentitems."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from surgad import codec, config, dummyphone, tickets
from tests.integration.conftest import MAYOR, Line, wait_for

pytestmark = pytest.mark.gammu

CITIZEN = "0812-3456-7001"
CITIZEN_E164 = "+6281234567001"
POTHOLE = "jalan di depan sd negeri jl semeru berlubang besar, sudah 2 motor jatuh. tolong diaspal"
LONG = (
    "Yth. Kepala Dinas PUPR Kota Kediri. Kami warga RT 03 RW 02 menyampaikan bahwa "
    "saluran air (got) di sepanjang jalan kampung kami mampet sejak tiga bulan lalu. "
    "Setiap hujan air meluber ke jalan dan menggenang hingga setinggi mata kaki, "
    "sehingga anak-anak kesulitan berangkat sekolah. Mohon segera dinormalisasi. "
    "Terima kasih atas perhatiannya."
)


def settings_of(line: Line) -> config.Settings:
    return config.load([line.config])


def complaint_rows(line: Line) -> list[Any]:
    return line.query(
        "SELECT id, citizen, text, unit_code, incomplete FROM surgad_complaint"
    )


def by_kind(line: Line, kind: str) -> list[Any]:
    return line.sent(f"surgad/{kind}/%")


def test_one_sms_in_gives_ack_and_forward(make_line: Callable[..., Line]) -> None:
    """One complaint SMS: the citizen gets the ticket, the unit head the text."""
    line = make_line()
    line.start_daemon()
    dummyphone.inject_incoming(line.device, CITIZEN, POTHOLE)
    wait_for(lambda: len(line.sent()) >= 2, 60, "acknowledgement and forward")

    (complaint,) = complaint_rows(line)
    ticket = tickets.encode(complaint.id)
    assert complaint.citizen == CITIZEN_E164
    assert complaint.text == POTHOLE
    assert complaint.unit_code == "PUPR"
    (ack,) = by_kind(line, "ack")
    assert ack.DestinationNumber == CITIZEN_E164
    assert ticket in ack.TextDecoded and "CEK" in ack.TextDecoded
    forwards = by_kind(line, "forward")
    heads = settings_of(line).units["PUPR"].heads
    assert sorted(row.DestinationNumber for row in forwards) == sorted(heads)
    text = "".join(
        row.TextDecoded for row in forwards if row.DestinationNumber == heads[0]
    )
    assert POTHOLE in text and ticket in text
    assert CITIZEN_E164 not in text and "+62812****7001" in text
    assert line.stop_daemon() == 0


def test_parts_in_different_polls_make_one_complaint(
    make_line: Callable[..., Line],
) -> None:
    """A 3-part SMS whose parts reach gammu apart is one complaint, exact text."""
    line = make_line()
    line.start_daemon()
    when = dt.datetime.now(dt.UTC)
    assert len(codec.split(LONG, 0)) == 3
    late = dummyphone.inject_incoming(
        line.device, CITIZEN, LONG, when=when, reference=42, parts=[3]
    )
    dummyphone.wait_consumed(late, timeout=30)
    wait_for(
        lambda: line.scalar("SELECT COUNT(*) FROM inbox") == 1, 30, "part 3 stored"
    )
    early = dummyphone.inject_incoming(
        line.device, CITIZEN, LONG, when=when, reference=42, parts=[2]
    )
    dummyphone.wait_consumed(early, timeout=30)
    dummyphone.inject_incoming(
        line.device, CITIZEN, LONG, when=when, reference=42, parts=[1]
    )
    wait_for(lambda: by_kind(line, "ack"), 60, "the acknowledgement")

    assert line.scalar("SELECT COUNT(*) FROM inbox") == 3
    (complaint,) = complaint_rows(line)
    assert complaint.text == LONG
    assert not complaint.incomplete
    assert len(by_kind(line, "ack")) == 1


def test_duplicate_rows_open_one_complaint(make_line: Callable[..., Line]) -> None:
    """gammu storing one SMS three times opens one complaint, one ack."""
    line = make_line()
    line.start_daemon()
    parts = dummyphone.build_incoming(
        CITIZEN, POTHOLE, when=dt.datetime.now(dt.UTC)
    )
    dummyphone.simulate_duplicate(line.device, parts, copies=3, timeout=30)
    line.wait_settled(3)
    wait_for(lambda: by_kind(line, "ack"), 30, "the acknowledgement")

    assert len(complaint_rows(line)) == 1
    outcomes = [
        row[0]
        for row in line.query(
            "SELECT outcome FROM surgad_inbox_outcome ORDER BY inbox_id"
        )
    ]
    # Any one copy may become the complaint (two workers race for them).
    assert sorted(outcomes) == ["complaint", "duplicate", "duplicate"]
    line.wait_outbox_empty()
    assert len(by_kind(line, "ack")) == 1


def test_operator_promo_and_ussd_reply_get_nothing(
    make_line: Callable[..., Line],
) -> None:
    """Operator, short-code, USSD and binary messages are recorded, never answered."""
    line = make_line()
    line.start_daemon()
    dummyphone.inject_raw(
        line.device, "TELKOMSEL", text="Promo! Kuota 10GB cuma 10rb. Ketik *363#"
    )
    dummyphone.inject_raw(line.device, "3", text="Sisa pulsa Anda Rp 1.250")
    dummyphone.inject_raw(line.device, "", text="Saldo: Rp 5.000", sms_class=127)
    dummyphone.inject_raw(line.device, CITIZEN, data=b"\x01\x02\xff")
    line.wait_settled(4)
    time.sleep(1.0)

    outcomes = {
        row[0] for row in line.query("SELECT outcome FROM surgad_inbox_outcome")
    }
    assert outcomes == {"non_citizen"}
    assert line.scalar("SELECT COUNT(*) FROM outbox") == 0
    assert line.sent("%") == []


def test_long_reply_with_emoji_is_sent_whole(make_line: Callable[..., Line]) -> None:
    """A 250-character resolution note with emoji arrives in correct parts.

    One emoji sends the whole SMS in UCS-2, 67 units a part: five parts here,
    within the six a note may make (a longer one is refused, see test_cli).
    """
    line = make_line()
    line.start_daemon()
    dummyphone.inject_incoming(line.device, CITIZEN, POTHOLE)
    wait_for(lambda: complaint_rows(line), 30, "the complaint")
    ticket = tickets.encode(complaint_rows(line)[0].id)
    note = ("Jalan sudah ditambal dan diaspal ulang oleh tim Bina Marga 🙏🚧. " * 7)[
        :250
    ]
    assert len(note) == 250
    line.cli("complaints", "resolve", ticket, "--note", note)
    line.wait_outbox_empty()

    rows = by_kind(line, "resolution")
    sent_text = "".join(row.TextDecoded for row in rows)
    assert note.strip() in sent_text
    assert [row.SequencePosition for row in rows] == list(range(1, len(rows) + 1))
    assert all(row.Coding == "Unicode_No_Compression" for row in rows)
    assert all(len(row.TextDecoded.encode("utf-16-be")) // 2 <= 67 for row in rows)
    refs = {codec.parse_udh(row.UDH).reference for row in rows}
    assert len(refs) == 1
    assert all(codec.parse_udh(row.UDH).total == len(rows) for row in rows)
    assert len(rows) > 1


def test_unfollowed_complaint_escalates_once(make_line: Callable[..., Line]) -> None:
    """A complaint past its deadline reaches the mayor once, despite two watchdogs."""
    line = make_line(deadline_hours=0.0005)  # 1.8 seconds
    dummyphone.inject_incoming(line.device, CITIZEN, POTHOLE)
    wait_for(lambda: line.scalar("SELECT COUNT(*) FROM inbox"), 30, "the SMS stored")
    assert line.gammu is not None
    line.gammu.stop()  # hold the outbox so its rows can be inspected
    line.cli("run", "--once")
    time.sleep(2.5)
    runs = [subprocess.Popen([*_cli(line), "watchdog"]) for _ in range(2)]
    assert all(run.wait(timeout=60) == 0 for run in runs)
    line.cli("watchdog")

    queued = line.query(
        "SELECT DestinationNumber, Priority FROM outbox WHERE CreatorID LIKE :c",
        c="surgad/escalation/%",
    )
    assert [(row.DestinationNumber, row.Priority) for row in queued] == [(MAYOR, 100)]
    line.gammu.start()
    line.start_daemon()  # its own watchdog runs too
    line.wait_outbox_empty()
    time.sleep(1.5)
    escalations = by_kind(line, "escalation")
    assert [row.DestinationNumber for row in escalations if row.SequencePosition == 1] == [
        MAYOR
    ]
    text = "".join(row.TextDecoded for row in escalations)
    assert text.startswith("ESKALASI") and POTHOLE in text


def _cli(line: Line) -> list[str]:
    return [sys.executable, "-m", "surgad", "--config", str(line.config)]


def test_resolve_sends_citizen_notice(make_line: Callable[..., Line]) -> None:
    """Resolving from the CLI queues the notice; gammu sends it to the citizen."""
    line = make_line()
    line.start_daemon()
    dummyphone.inject_incoming(line.device, CITIZEN, POTHOLE)
    wait_for(lambda: complaint_rows(line), 30, "the complaint")
    ticket = tickets.encode(complaint_rows(line)[0].id)
    line.cli("complaints", "ack", ticket)
    line.cli("complaints", "resolve", ticket, "--note", "sudah ditambal")
    wait_for(lambda: by_kind(line, "resolution"), 60, "the resolution notice")

    (notice,) = by_kind(line, "resolution")
    assert notice.DestinationNumber == CITIZEN_E164
    assert ticket in notice.TextDecoded and "sudah ditambal" in notice.TextDecoded
    again = line.cli("complaints", "resolve", ticket, "--note", "lagi", check=False)
    assert again.returncode != 0 and again.stderr.count("\n") == 1
    shown = line.cli("complaints", "show", ticket, "--json").stdout
    assert '"status": "resolved"' in shown


def test_missing_part_opens_incomplete_then_late_part_joins(
    make_line: Callable[..., Line],
) -> None:
    """Parts 1-2 open an incomplete complaint after the hold; part 3 then joins it."""
    line = make_line(service={"hold_window": 3})
    line.start_daemon()
    when = dt.datetime.now(dt.UTC)
    first = dummyphone.inject_incoming(
        line.device, CITIZEN, LONG, when=when, reference=7, parts=[1, 2]
    )
    dummyphone.wait_consumed(first, timeout=30)
    wait_for(lambda: complaint_rows(line), 30, "the incomplete complaint")
    (complaint,) = complaint_rows(line)
    assert complaint.incomplete and complaint.text.endswith("[...]")

    dummyphone.inject_incoming(line.device, CITIZEN, LONG, when=when, reference=7, parts=[3])
    line.wait_settled(3, timeout=30)
    (complaint,) = complaint_rows(line)
    assert complaint.text.endswith("Terima kasih atas perhatiannya.")
    outcomes = [row[0] for row in line.query(
        "SELECT outcome FROM surgad_inbox_outcome ORDER BY inbox_id")]
    assert outcomes == ["complaint", "complaint", "followup"]
    assert len(by_kind(line, "ack")) == 1
