"""Two-way SMS: citizens ask and reply, heads and the mayor work the line by SMS.

Every test sends real SMS through gammu-smsd's dummy phone and reads what
gammu-smsd sent from ``sentitems``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from surgad import codec, dummyphone, tickets
from tests.integration.conftest import MAYOR, Line, wait_for

pytestmark = pytest.mark.gammu

CITIZEN = "+6281234567001"
STRANGER = "+6281234567002"
PUPR_HEAD = "+6281200000001"  # config/units-kediri.toml placeholder for PUPR
PDAM_HEAD = "+6281200000004"
DLHKP_HEAD = "+6281200000002"
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


def test_repeated_reassign_is_answered_as_recorded(make_line: Callable[..., Line]) -> None:
    """A second ALIH, or SELESAI after ALIH, says where the ticket went; nobody else is told."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, PUPR_HEAD, f"ALIH {ticket} PDAM bekas galian pipa")
    send(line, PUPR_HEAD, f"alih {ticket} pdam bekas galian pipa")
    send(line, PUPR_HEAD, f"SELESAI {ticket} beres")
    send(line, DLHKP_HEAD, f"ALIH {ticket} PDAM")

    done, repeat, resolve = texts_to(line, PUPR_HEAD)[1:]
    assert done == f"SURGA: ALIH tiket {ticket} tercatat."
    assert repeat == f"SURGA: ALIH tiket {ticket} ke PDAM Tirta Dhaha sudah tercatat."
    assert "sudah dialihkan ke PDAM Tirta Dhaha" in resolve and "SELESAI" in resolve
    (refusal,) = texts_to(line, DLHKP_HEAD)
    assert "tidak dapat diproses" in refusal and "PDAM" not in refusal
    assert len(texts_to(line, PDAM_HEAD)) == 1
    assert sum("dialihkan" in text for text in texts_to(line, CITIZEN)) == 1
    assert line.query("SELECT unit_code, status FROM surgad_complaint") == [("PDAM", "open")]
    assert line.scalar("SELECT COUNT(*) FROM surgad_event WHERE action = 'reassigned'") == 1


def test_head_of_two_units_repeating_alih_is_told_only_what_is_recorded(
    make_line: Callable[..., Line],
) -> None:
    """A head of PUPR and PDAM: a repeated ALIH is recorded; one back by another way is not."""
    line = make_line()
    line.cli("heads", "add", "PDAM", PUPR_HEAD)
    line.start_daemon()
    ticket = open_complaint(line)
    # Each SMS its own text: two alike within the same second would be one SMS
    # stored twice (same sender, SMSC time stamp and text).
    send(line, PUPR_HEAD, f"ALIH {ticket} PDAM")
    send(line, PUPR_HEAD, f"alih {ticket} pdam")
    send(line, PUPR_HEAD, f"ALIH {ticket} DLHKP")
    send(line, DLHKP_HEAD, f"ALIH {ticket} PDAM")
    send(line, PUPR_HEAD, f"Alih {ticket} PDAM")

    replies = [text for text in texts_to(line, PUPR_HEAD) if text.startswith("SURGA: ")]
    assert replies == [
        f"SURGA: ALIH tiket {ticket} tercatat.",
        f"SURGA: ALIH tiket {ticket} ke PDAM Tirta Dhaha sudah tercatat.",
        f"SURGA: ALIH tiket {ticket} tercatat.",
        f"SURGA: Tiket {ticket} tidak berubah; status sekarang: menunggu tindak lanjut.",
    ]
    assert line.scalar("SELECT unit_code FROM surgad_complaint") == "PDAM"
    assert line.scalar("SELECT COUNT(*) FROM surgad_event WHERE action = 'reassigned'") == 3


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


def test_repeated_reprimand_is_answered_as_recorded(make_line: Callable[..., Line]) -> None:
    """A second TEGUR tells the mayor it is recorded and sends the unit nothing more.

    Once the ticket is with another unit, TEGUR reaches that unit.
    """
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, MAYOR, f"TEGUR {ticket}")
    send(line, MAYOR, f"tegur #{ticket}")
    send(line, PUPR_HEAD, f"ALIH {ticket} PDAM bekas galian pipa")
    send(line, MAYOR, f"Tegur {ticket}.")

    assert texts_to(line, MAYOR) == [
        f"SURGA: TEGUR tiket {ticket} tercatat.",
        f"SURGA: TEGUR tiket {ticket} sudah tercatat.",
        f"SURGA: TEGUR tiket {ticket} tercatat.",
    ]
    assert sum("TEGURAN WALI KOTA" in text for text in texts_to(line, PUPR_HEAD)) == 1
    assert sum("TEGURAN WALI KOTA" in text for text in texts_to(line, PDAM_HEAD)) == 1
    assert line.scalar("SELECT COUNT(*) FROM surgad_event WHERE action = 'reprimanded'") == 2


def test_commands_on_a_ticket_join_its_history(make_line: Callable[..., Line]) -> None:
    """A head's TERIMA, the citizen's CEK and the answers to both are in the history;
    a stranger's CEK of the ticket is not."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, PUPR_HEAD, f"TERIMA {ticket}")
    send(line, CITIZEN, "cek")
    send(line, STRANGER, f"CEK {ticket}")
    line.wait_outbox_empty()

    timeline = json.loads(line.cli("complaints", "history", ticket, "--json").stdout)["timeline"]
    received = [item for item in timeline if item["what"] == "sms_in"]
    assert [item["detail"].split("(")[1] for item in received] == [
        "complaint)", "command)", "command)"
    ]
    sent = {(item["what"], item["who"]) for item in timeline if item["what"].startswith("sms_out")}
    assert {("sms_out:staff", PUPR_HEAD), ("sms_out:status", CITIZEN)} <= sent
    assert not any(item["who"] == STRANGER for item in timeline)


def test_bare_belum_reopens_the_latest_and_daftar_takes_no_words(
    make_line: Callable[..., Line],
) -> None:
    """'Belum' alone reopens the sender's resolved complaint; a head's 'DAFTAR semua'
    is shown the format instead of becoming a complaint."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    line.cli("complaints", "resolve", ticket, "--note", "sudah ditambal")
    send(line, CITIZEN, "Belum")
    send(line, PUPR_HEAD, "DAFTAR semua")

    assert line.scalar("SELECT status FROM surgad_complaint") == "open"
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 1
    assert texts_to(line, PUPR_HEAD)[-1] == "SURGA: Format salah. Gunakan: DAFTAR"


def test_commands_over_the_reply_limit_are_recorded_as_unanswered(
    make_line: Callable[..., Line],
) -> None:
    """CEK after CEK past limits.replies_per_hour: each is recorded, the unanswered
    ones with that reason."""
    line = make_line()
    line.start_daemon()
    start = line.settled()
    for number in range(13):
        dummyphone.inject_incoming(line.device, STRANGER, f"CEK {number}")
    line.wait_settled(start + 13)

    reasons = [reason for (reason,) in line.query(
        "SELECT reason FROM surgad_inbox_outcome ORDER BY inbox_id")]
    assert reasons.count("status") == 10
    assert reasons.count("status; not answered: over the hourly reply limit") == 3
    assert len(texts_to(line, STRANGER)) == 10


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


def test_fullwidth_digits_work_and_other_scripts_do_not(
    make_line: Callable[..., Line],
) -> None:
    """A fullwidth CEK finds the ticket; the same ticket in Arabic-Indic digits does not."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    fullwidth = "".join(chr(0xFF10 + int(digit)) for digit in ticket)
    arabic = "".join(chr(0x0660 + int(digit)) for digit in ticket)
    send(line, CITIZEN, f"ＣＥＫ {fullwidth}")
    send(line, CITIZEN, f"CEK {arabic}")

    found, not_found = texts_to(line, CITIZEN)[1:]
    assert f"Tiket {ticket} (Dinas PUPR)" in found
    assert "tidak ditemukan" in not_found



def test_command_words_with_bad_tickets_get_answers_not_complaints(
    make_line: Callable[..., Line],
) -> None:
    """CEK, BELUM and head words with a number that is no ticket answer 'not found'."""
    line = make_line()
    line.start_daemon()
    open_complaint(line)
    for text in ("CEK 1234567890123", "BELUM 0", "cek 5", "belum 99999999999999999"):
        send(line, CITIZEN, text)
    send(line, PUPR_HEAD, "SELESAI 1234567890123 beres")
    send(line, PUPR_HEAD, "TERIMA 0")

    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 1
    replies = texts_to(line, CITIZEN)[1:]
    assert len(replies) == 4 and all("tidak ditemukan" in text for text in replies)
    head = texts_to(line, PUPR_HEAD)[1:]
    assert len(head) == 2 and all("tidak dapat diproses" in text for text in head)


def test_a_status_word_before_no_ticket_is_answered_with_the_format(
    make_line: Callable[..., Line],
) -> None:
    """'CEK abc' gets the CEK format; 'cek jalan rusak ...' is opened as a complaint."""
    line = make_line()
    line.start_daemon()
    send(line, STRANGER, "CEK abc")
    send(line, CITIZEN, "cek jalan rusak berlubang di jl semeru kel banjaran, tolong diaspal")

    (told,) = texts_to(line, STRANGER)
    assert told.startswith("SURGA: Format salah. Gunakan: CEK <tiket>.")
    not_complaints = "SELECT reason FROM surgad_inbox_outcome WHERE outcome = 'not_complaint'"
    assert [tuple(row) for row in line.query(not_complaints)] == [
        ("not_complaint; CEK format sent",)
    ]
    assert line.scalar("SELECT citizen FROM surgad_complaint") == CITIZEN
    (acknowledged,) = texts_to(line, CITIZEN)
    assert "Aduan Anda diterima" in acknowledged


def test_a_span_of_time_after_a_command_word_is_no_ticket(
    make_line: Callable[..., Line],
) -> None:
    """'belum 2 minggu ...' is a new complaint; 'cek 3 hari ...' asks about the latest."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, CITIZEN, "cek 3 hari lalu saya lapor, belum ada kabar")
    send(line, STRANGER, "belum 2 minggu diaspal, jalan di jl semeru kel banjaran berlubang lagi")

    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 2
    replies = texts_to(line, CITIZEN)
    assert len(replies) == 2 and ticket in replies[1] and "tidak ditemukan" not in replies[1]
    assert not any("tidak ditemukan" in text for text in texts_to(line, STRANGER))
    (second,) = line.query("SELECT MAX(id) FROM surgad_complaint")[0]
    assert any(tickets.encode(second) in text for text in texts_to(line, PUPR_HEAD))


def remove_heads(line: Line, unit: str) -> None:
    """Leave a unit without heads, as removing its last head from the CLI does."""
    line.query_write("DELETE FROM surgad_head WHERE unit_code = :unit", unit=unit)


def surgad_cli(line: Line) -> list[str]:
    return [sys.executable, "-m", "surgad", "--config", str(line.config)]


def log_events(line: Line) -> list[dict[str, Any]]:
    """Return the daemon's JSON log events so far."""
    lines = line.daemon_log_text().splitlines()
    return [json.loads(text) for text in lines if text.startswith("{")]


def test_complaint_for_unit_without_heads_goes_to_mayor_once(
    make_line: Callable[..., Line],
) -> None:
    """No head to forward to: the mayor gets it at once, once; the citizen is told so."""
    line = make_line(deadline_hours=0.0005)  # 1.8 seconds: no watchdog may add one
    remove_heads(line, "PUPR")
    line.start_daemon()
    ticket = open_complaint(line)
    time.sleep(2.5)
    watchdogs = [subprocess.Popen([*surgad_cli(line), "watchdog"]) for _ in range(2)]
    assert all(watchdog.wait(timeout=60) == 0 for watchdog in watchdogs)

    (escalation,) = texts_to(line, MAYOR)
    assert escalation.startswith(f"ESKALASI SURGA #{ticket}") and "kepala unit" in escalation
    assert "semeru" in escalation
    (ack,) = texts_to(line, CITIZEN)
    assert ticket in ack and "Wali Kota" in ack
    assert texts_to(line, PUPR_HEAD) == []
    row = line.query("SELECT escalate_at, escalated_at FROM surgad_complaint")[0]
    assert row.escalate_at is None and row.escalated_at is not None
    (detail,) = line.query("SELECT detail FROM surgad_event WHERE action = 'escalated'")
    assert detail[0] == "unit PUPR has no heads"
    warnings = [event for event in log_events(line) if event["event"] == "unit_without_heads"]
    assert {"unit": "PUPR", "level": "warning"}.items() <= warnings[0].items()
    assert "ticket" not in warnings[0]  # the start-up warning, before any SMS
    assert any(event.get("ticket") == ticket for event in warnings)
    assert {event["unit"] for event in warnings} == {"PUPR"}


def test_reassign_to_unit_without_heads_goes_to_mayor(make_line: Callable[..., Line]) -> None:
    """ALIH to a unit with no heads sends the ticket to the mayor instead of to nobody."""
    line = make_line()
    remove_heads(line, "PDAM")
    line.start_daemon()
    ticket = open_complaint(line)
    send(line, PUPR_HEAD, f"ALIH {ticket} PDAM bekas galian pipa")

    assert line.scalar("SELECT unit_code FROM surgad_complaint") == "PDAM"
    (escalation,) = texts_to(line, MAYOR)
    assert escalation.startswith(f"ESKALASI SURGA #{ticket}") and "PDAM" in escalation
    assert any("dialihkan" in text and "Wali Kota" in text for text in texts_to(line, CITIZEN))
    assert line.scalar("SELECT escalate_at FROM surgad_complaint") is None


def test_unit_without_heads_sends_additions_reopenings_to_mayor(
    make_line: Callable[..., Line],
) -> None:
    """Follow-ups and BELUM reach the mayor; TEGUR says it reached nobody."""
    line = make_line()
    line.start_daemon()
    ticket = open_complaint(line)
    line.stop_daemon()
    remove_heads(line, "PUPR")
    line.start_daemon()  # fresh workers: no cached heads
    line.cli("complaints", "resolve", ticket, "--note", "sudah ditambal")
    send(line, CITIZEN, f"BELUM {ticket} masih berlubang")
    wait_for(lambda: texts_to(line, MAYOR), 30, "the reopened ticket at the mayor")
    send(line, CITIZEN, f"tambahan tiket {ticket}: lubangnya makin besar")
    send(line, MAYOR, f"TEGUR {ticket}")

    escalation, addition, tegur = texts_to(line, MAYOR)
    assert escalation.startswith(f"ESKALASI SURGA #{ticket}") and "kepala unit" in escalation
    assert "TAMBAHAN" in addition and "makin besar" in addition
    assert "TEGUR" in tegur and "tidak terkirim" in tegur
    assert any("dibuka kembali" in text and "Wali Kota" in text
               for text in texts_to(line, CITIZEN))
    assert line.scalar("SELECT escalate_at FROM surgad_complaint") is None
    actions = [row[0] for row in line.query("SELECT action FROM surgad_event ORDER BY id")]
    assert actions[-3:] == ["reopened", "escalated", "followup"]
