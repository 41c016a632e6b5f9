"""Prove the dummy-phone harness against the real gammu-smsd and a SQLite database."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from surgad import dummyphone

GAMMU_SQLITE_SCHEMA = Path("/usr/share/doc/gammu-smsd/examples/sqlite.sql")
ZONE = "Asia/Jakarta"
SMSC_TIME = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
ROW_TIMEOUT = 15.0

pytestmark = pytest.mark.gammu


def _require(available: bool, what: str) -> None:
    """Skip without ``what`` on a workstation; fail in CI, where it must exist."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not installed (Debian package gammu-smsd)")


@pytest.fixture
def gammu_db(tmp_path: Path) -> Path:
    """Create a SQLite database with gammu's own schema v17, in WAL mode."""
    _require(shutil.which(dummyphone.GAMMU_SMSD) is not None, "gammu-smsd")
    _require(GAMMU_SQLITE_SCHEMA.is_file(), str(GAMMU_SQLITE_SCHEMA))
    path = tmp_path / "smsd.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(GAMMU_SQLITE_SCHEMA.read_text(encoding="utf-8"))
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    return path


@pytest.fixture
def smsd(tmp_path: Path, gammu_db: Path) -> Iterator[dummyphone.GammuSmsd]:
    """Run gammu-smsd on the dummy phone, in Jakarta time, for one test."""
    runner = dummyphone.GammuSmsd.in_directory(
        tmp_path / "gammu",
        dummyphone.DbTarget.sqlite(gammu_db),
        phone_id="test-modem",
        tz=ZONE,
        extra={"MultipartTimeout": "30"},
    )
    with runner:
        yield runner


def _rows(db: Path, query: str, *params: object) -> list[dict[str, Any]]:
    """Return the rows of ``query`` as dicts, through a short-lived connection."""
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(query, params)]
    finally:
        connection.close()


def _wait_rows(db: Path, query: str, count: int) -> list[dict[str, Any]]:
    """Wait until ``query`` returns ``count`` rows and return them."""
    dummyphone.wait_until(
        lambda: len(_rows(db, query)) >= count, ROW_TIMEOUT, f"{count} rows: {query}"
    )
    return _rows(db, query)


def _utf16_hex(text: str) -> str:
    """Encode ``text`` the way gammu fills ``Text``: upper-case hex of UTF-16BE."""
    return text.encode("utf-16-be").hex().upper()


def _execute(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Run ``statements`` in one short write transaction."""
    connection = sqlite3.connect(db)
    try:
        with connection:
            for query, params in statements:
                connection.execute(query, params)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("text", "coding"),
    [
        ("Jalan rusak di Jl. Merdeka €5 [RT 03]", "Default_No_Compression"),
        ("Lampu mati 😡 sejak kemarin", "Unicode_No_Compression"),
    ],
)
def test_injected_sms_lands_in_inbox_with_sender_and_utf16_hex_text(
    smsd: dummyphone.GammuSmsd, gammu_db: Path, text: str, coding: str
) -> None:
    """Store one SMS with its sender, coding, UTF-16BE hex Text and no UDH."""
    dummyphone.inject_incoming(smsd.device_dir, "+6281234567890", text)

    (row,) = _wait_rows(gammu_db, "SELECT * FROM inbox", 1)

    assert row["SenderNumber"] == "+6281234567890"
    assert row["Text"] == _utf16_hex(text)
    assert row["TextDecoded"] == text
    assert row["Coding"] == coding
    assert row["UDH"] == ""
    assert row["RecipientID"] == "test-modem"


def test_smsc_time_is_stored_in_the_local_time_of_gammu_smsd(
    smsd: dummyphone.GammuSmsd, gammu_db: Path
) -> None:
    """Convert the SMSC timestamp to gammu-smsd's TZ (UTC+7) in ReceivingDateTime."""
    dummyphone.inject_incoming(smsd.device_dir, "+6281", "Jam berapa?", when=SMSC_TIME)

    (row,) = _wait_rows(gammu_db, "SELECT ReceivingDateTime FROM inbox", 1)

    assert row["ReceivingDateTime"] == "2024-05-06 14:08:09"


def test_long_sms_is_one_row_per_part_with_the_chosen_reference(
    smsd: dummyphone.GammuSmsd, gammu_db: Path
) -> None:
    """Store three parts with UDH 050003A7030N whose Text hex joins to the message."""
    text = "".join(f"Kalimat {i:02d} tentang sampah. " for i in range(15))
    files = dummyphone.inject_incoming(smsd.device_dir, "+6285", text, reference=0xA7)

    rows = _wait_rows(gammu_db, "SELECT * FROM inbox ORDER BY ID", 3)

    assert len(files) == 3
    assert [row["UDH"] for row in rows] == [f"050003A7030{n}" for n in (1, 2, 3)]
    joined = bytes.fromhex("".join(row["Text"] for row in rows))
    assert joined.decode("utf-16-be") == text
    assert [row["TextDecoded"] for row in rows] == [text, "", ""]


def test_parts_delivered_in_separate_polls_are_linked(
    smsd: dummyphone.GammuSmsd, gammu_db: Path
) -> None:
    """Hold part 3 until parts 1 and 2 arrive, then store all with a 16-bit UDH."""
    text = "".join(f"Bagian {i:02d}: air PDAM keruh. " for i in range(14))

    def deliver(parts: list[int]) -> None:
        dummyphone.inject_incoming(
            smsd.device_dir,
            "+6286",
            text,
            when=SMSC_TIME,
            reference=0x1234,
            reference_bits=16,
            parts=parts,
        )

    deliver([3])
    dummyphone.wait_until(
        lambda: "0x1234, waiting for other parts" in smsd.log_text(),
        ROW_TIMEOUT,
        "gammu-smsd to hold part 3",
    )
    assert _rows(gammu_db, "SELECT ID FROM inbox") == []
    deliver([1, 2])

    rows = _wait_rows(gammu_db, "SELECT UDH, TextDecoded FROM inbox ORDER BY ID", 3)
    assert [row["UDH"] for row in rows] == [f"0608041234030{n}" for n in (1, 2, 3)]
    assert rows[0]["TextDecoded"] == text


def test_odd_senders_and_payloads_are_stored_verbatim(
    smsd: dummyphone.GammuSmsd, gammu_db: Path
) -> None:
    """Store operator names, short codes, a USSD-like reply, binary and empty SMS."""
    device = smsd.device_dir
    dummyphone.inject_raw(device, "TELKOMSEL", text="Sisa pulsa Rp 5.000")
    dummyphone.inject_raw(device, "3", text="Paket data habis")
    dummyphone.inject_raw(device, "", text="Saldo Rp 12.345", sms_class=127)
    dummyphone.inject_raw(device, "+6290", data=b"\x00\x01\xfe\xff", sms_class=1)
    dummyphone.inject_raw(device, "+6288", text="")

    query = "SELECT SenderNumber, Coding, Class, Text FROM inbox ORDER BY ID"
    rows = _wait_rows(gammu_db, query, 5)

    assert [tuple(row.values()) for row in rows] == [
        ("TELKOMSEL", "Default_No_Compression", -1, _utf16_hex("Sisa pulsa Rp 5.000")),
        ("3", "Default_No_Compression", -1, _utf16_hex("Paket data habis")),
        ("", "Default_No_Compression", 127, _utf16_hex("Saldo Rp 12.345")),
        ("+6290", "8bit", 1, "0001FEFF"),
        ("+6288", "Default_No_Compression", -1, ""),
    ]


def test_simulated_duplicate_stores_identical_rows(
    smsd: dummyphone.GammuSmsd, gammu_db: Path
) -> None:
    """Store the same SMS three times, equal in every column but ID and UpdatedInDB."""
    text = "Sampah belum diangkut"
    messages = dummyphone.build_incoming("+6281", text, when=SMSC_TIME)

    dummyphone.simulate_duplicate(smsd.device_dir, messages, copies=3)

    rows = _wait_rows(gammu_db, "SELECT * FROM inbox ORDER BY ID", 3)
    for row in rows:
        del row["ID"], row["UpdatedInDB"]
    assert rows[0] == rows[1] == rows[2]
    assert rows[0]["TextDecoded"] == text


def test_outbox_rows_are_moved_to_sentitems(
    smsd: dummyphone.GammuSmsd, gammu_db: Path
) -> None:
    """Send a single-part row and a three-part row committed in one transaction."""
    parts = ["A" * 153, "B" * 153, "C" * 20]
    _execute(
        gammu_db,
        (
            "INSERT INTO outbox (ID, DestinationNumber, TextDecoded, CreatorID)"
            " VALUES (1, '+6281200000001', 'Tiket SRG-0001 diterima.', 'test')",
            (),
        ),
    )
    _execute(
        gammu_db,
        (
            "INSERT INTO outbox (ID, DestinationNumber, TextDecoded, CreatorID,"
            " UDH, MultiPart)"
            " VALUES (2, '+6281200000002', ?, 'test', '050003420301', 'true')",
            (parts[0],),
        ),
        *(
            (
                "INSERT INTO outbox_multipart (ID, SequencePosition, TextDecoded, UDH)"
                " VALUES (2, ?, ?, ?)",
                (n, parts[n - 1], f"05000342030{n}"),
            )
            for n in (2, 3)
        ),
    )

    query = "SELECT ID, SequencePosition, UDH, Text, Status, SenderID FROM sentitems"
    rows = _wait_rows(gammu_db, query + " ORDER BY ID, SequencePosition", 4)

    assert [(row["ID"], row["SequencePosition"], row["UDH"]) for row in rows] == [
        (1, 1, ""),
        (2, 1, "050003420301"),
        (2, 2, "050003420302"),
        (2, 3, "050003420303"),
    ]
    assert rows[0]["Text"] == _utf16_hex("Tiket SRG-0001 diterima.")
    assert {(row["Status"], row["SenderID"]) for row in rows} == {
        ("SendingOKNoReport", "test-modem")
    }
    # gammu-smsd logs each part in sentitems first and deletes the outbox row
    # after the last one: wait for that step rather than race it.
    dummyphone.wait_until(
        lambda: _rows(gammu_db, "SELECT ID FROM outbox") == [], ROW_TIMEOUT, "outbox emptied"
    )


def test_gammu_smsd_registers_and_stops_cleanly(tmp_path: Path, gammu_db: Path) -> None:
    """Register the PhoneID in phones on start and exit 0 on SIGTERM."""
    runner = dummyphone.GammuSmsd.in_directory(
        tmp_path / "gammu", dummyphone.DbTarget.sqlite(gammu_db), phone_id="stopper"
    )

    runner.start()
    registered = dummyphone.phone_registered(runner.db, "stopper")
    status = runner.stop()

    assert registered
    assert status == 0
    assert "Stopping Gammu smsd" in runner.log_text()
