"""Two-way SMS: citizens ask and reply, heads and the mayor work the line by SMS.

Every test sends real SMS through gammu-smsd's dummy phone and reads what
gammu-smsd sent from ``sentitems``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

import pytest

from surgad import codec, dummyphone, tickets
from tests.integration.conftest import MAYOR, Line, wait_for

pytestmark = pytest.mark.gammu

CITIZEN = "+6281234567001"
STRANGER = "+6281234567002"
PUPR_HEAD = "+6281200000001"  # config/units-kediri.toml placeholder for PUPR
PDAM_HEAD = "+6281200000004"
POTHOLE = "jalan berlubang besar di jl semeru kel banjaran, sudah 2 motor jatuh. tolong diaspal"


def send(line: Line, number: str, text: str, copies: int = 1) -> None:
    """Deliver an SMS (as ``copies`` stored rows) and wait until surgad settled it."""
    before = line.settled()
    parts = len(codec.split(text, 0)) * copies
    built = dummyphone.build_incoming(number, text, when=dt.datetime.now(dt.UTC))
    if copies > 1:
        dummyphone.simulate_duplicate(line.device, built, copies=copies, timeout=30)
    else:
        dummyphone.deliver(line.device, built)
    line.wait_settled(before + parts)


def texts_to(line: Line, number: str) -> list[str]:
    """Return the whole texts gammu-smsd sent to a number, oldest first."""
    line.wait_outbox_empty()
    rows = line.query(
        "SELECT ID, TextDecoded FROM sentitems WHERE DestinationNumber = :n "
        "ORDER BY ID, SequencePosition", n=number,
    )
    texts: dict[int, str] = {}
    for row_id, text in rows:
        texts[row_id] = texts.get(row_id, "") + text
    return list(texts.values())


def open_complaint(line: Line) -> str:
    send(line, CITIZEN, POTHOLE)
    (complaint_id,) = line.query("SELECT MAX(id) FROM surgad_complaint")[0]
    return tickets.encode(complaint_id)


def test_status_query_answers_owner_and_refuses_stranger(make_line: Callable[..., Line]) -> None:
    """CEK from the filer gives state and unit; from anyone else, nothing revealing."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, CITIZEN, f"cek#{ticket}")
    send(line, STRANGER, f"STATUS {ticket}")
    send(line, STRANGER, "INFO")

    owner = texts_to(line, CITIZEN)[-1]
    assert ticket in owner and "PUPR" in owner and "menunggu" in owner
    refusal, help_text = texts_to(line, STRANGER)
    assert "tidak ditemukan" in refusal
    assert "PUPR" not in refusal and "semeru" not in refusal
    assert "CEK" in help_text and len(help_text) <= 160


def test_head_works_a_ticket_by_sms(make_line: Callable[..., Line]) -> None:
    """TERIMA, PROSES and a duplicated SELESAI notify the citizen once each."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, PUPR_HEAD, f"terima {ticket}")
    assert line.scalar("SELECT escalate_at FROM surgad_complaint") is None
    send(line, PUPR_HEAD, f"PROSES #{ticket} tim sudah survei lokasi")
    send(line, PUPR_HEAD, f"Selesai {ticket} sudah ditambal.", copies=2)
    send(line, PUPR_HEAD, f"SELESAI {ticket} sudah ditambal")

    citizen = texts_to(line, CITIZEN)
    assert sum("diterima Dinas PUPR" in text for text in citizen) == 1
    assert sum("survei lokasi" in text for text in citizen) == 1
    assert sum("diselesaikan" in text for text in citizen) == 1
    head = texts_to(line, PUPR_HEAD)
    assert any("tidak berubah" in text and "selesai" in text for text in head)
    assert line.scalar("SELECT status FROM surgad_complaint") == "resolved"
    changes = [
        json.loads(entry)["action"]
        for entry in line.daemon_log_text().splitlines()
        if '"complaint_changed"' in entry
    ]
    assert sorted(changes) == ["acknowledged", "progress", "resolved"]


def test_commands_from_wrong_numbers_are_refused(make_line: Callable[..., Line]) -> None:
    """Another unit's head and a citizen cannot act on a ticket, nor learn of it."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, PDAM_HEAD, f"SELESAI {ticket} beres")
    send(line, STRANGER, f"terima {ticket}")

    assert line.scalar("SELECT status FROM surgad_complaint") == "open"
    for number in (PDAM_HEAD, STRANGER):
        (reply,) = texts_to(line, number)
        assert "tidak dapat diproses" in reply and "semeru" not in reply


def test_reassign_with_unknown_code_shows_format(make_line: Callable[..., Line]) -> None:
    """ALIH to an unknown code gets the format; a good ALIH moves the ticket."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, PUPR_HEAD, f"ALIH {ticket} NASA")
    assert line.scalar("SELECT unit_code FROM surgad_complaint") == "PUPR"
    send(line, PUPR_HEAD, f"alih {ticket} PDAM bekas galian pipa")

    assert any("Format" in text and "PDAM" in text for text in texts_to(line, PUPR_HEAD))
    assert line.scalar("SELECT unit_code FROM surgad_complaint") == "PDAM"
    assert any(ticket in text and "semeru" in text for text in texts_to(line, PDAM_HEAD))
    assert any("dialihkan" in text for text in texts_to(line, CITIZEN))
    events = line.query("SELECT action, detail FROM surgad_event WHERE action = 'reassigned'")
    assert events and "bekas galian pipa" in events[0].detail


def test_followup_reopen_and_mayor_reprimand(make_line: Callable[..., Line]) -> None:
    """A same-topic SMS adds to the ticket; BELUM reopens it; TEGUR reaches the head."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, CITIZEN, "lubangnya makin besar pak, jalan semeru tolong cepat diaspal")
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 1
    assert any("TAMBAHAN" in text for text in texts_to(line, PUPR_HEAD))

    send(line, MAYOR, f"TEGUR {ticket}")
    assert any("WALI KOTA" in text for text in texts_to(line, PUPR_HEAD))
    line.cli("complaints", "resolve", ticket, "--note", "sudah ditambal")
    send(line, CITIZEN, f"BELUM {ticket} masih berlubang")
    assert line.scalar("SELECT status FROM surgad_complaint") == "open"
    assert any("DIBUKA LAGI" in text for text in texts_to(line, PUPR_HEAD))
    history = line.cli("complaints", "history", ticket).stdout
    for action in ("followup", "reprimanded", "resolved", "reopened"):
        assert action in history


def test_surga_format_keeps_nik_and_name_out_of_forward(make_line: Callable[..., Line]) -> None:
    """NIK#Nama#Isi: identity stored apart, only the text goes to the unit."""
    line = make_line()
    line.start_daemon()
    send(line, CITIZEN, "3571020000003345#Siti Nurhayati#air pdam keruh bercampur pasir "
                        "sejak kemarin di kel balowerti")
    row = line.query("SELECT nik, reporter_name, text, unit_code FROM surgad_complaint")[0]
    assert (row.nik, row.reporter_name, row.unit_code) == ("3571020000003345", "Siti Nurhayati",
                                                           "PDAM")
    assert "3571020000003345" not in row.text and "Siti" not in row.text
    forward = " ".join(texts_to(line, PDAM_HEAD))
    assert "3571020000003345" not in forward and "Siti" not in forward
    assert "3571020000003345" not in (line.directory / "surgad.log").read_text()


def test_flood_from_one_number_is_stored_with_bounded_replies(
    make_line: Callable[..., Line],
) -> None:
    """200 SMS from one number in a minute: all settled, few SMS spent."""
    line = make_line()
    line.start_daemon()
    stuck = "+6285712345678"
    start = line.settled()
    for i in range(200):
        text = f"jalan rusak berlubang di jl veteran no {i}, tolong diaspal"
        dummyphone.inject_incoming(line.device, stuck, text)
    line.wait_settled(start + 200, timeout=120)
    time.sleep(1)

    outcomes = dict(line.query("SELECT outcome, COUNT(*) FROM surgad_inbox_outcome "
                               "GROUP BY outcome"))
    assert sum(outcomes.values()) == 200
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") <= 5
    to_citizen = len(texts_to(line, stuck))
    to_heads = line.scalar("SELECT COUNT(*) FROM sentitems WHERE DestinationNumber != :n "
                           "AND SequencePosition = 1", n=stuck)
    assert 1 <= to_citizen <= 10
    assert to_heads <= 5 * 2


def test_auto_responder_gets_no_loop(make_line: Callable[..., Line]) -> None:
    """A phone that answers every SMS (even echoing ours) does not start a loop."""
    line = make_line()
    line.start_daemon()
    robot = "+6287811112222"
    send(line, robot, POTHOLE)
    answered: set[int] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for row_id, text in line.query(
            "SELECT ID, TextDecoded FROM sentitems WHERE DestinationNumber = :n "
            "AND SequencePosition = 1", n=robot,
        ):
            if row_id not in answered:
                answered.add(row_id)
                dummyphone.inject_incoming(line.device, robot, text)  # echo it back
                dummyphone.inject_incoming(line.device, robot,
                                           "Maaf, saya sedang rapat. Akan saya balas nanti.")
        time.sleep(0.5)

    assert 1 <= len(answered) <= 2
    wait_for(lambda: line.scalar("SELECT COUNT(*) FROM inbox WHERE ID NOT IN "
                                 "(SELECT inbox_id FROM surgad_inbox_outcome)") == 0,
             30, "every inbox row settled")
