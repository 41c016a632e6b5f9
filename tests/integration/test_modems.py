"""Several modems on one database: replies keep to the citizen's modem, a silent
modem's queue moves on, escalations go to whichever modem is free."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from surgad import clock
from surgad.db import inbox as db_inbox
from tests.integration import databases
from tests.integration.conftest import TZ, Line, wait_for

POTHOLE = "jalan berlubang besar di jl semeru, tolong diaspal"


def register_modem(line: Line, phone_id: str, age: dt.timedelta = dt.timedelta()) -> None:
    """Write a ``phones`` row as gammu-smsd does, with a heartbeat ``age`` old.

    Gammu's dummy phones share one IMEI, so two dummy gammu-smsd cannot both be
    registered; the rows are written the way gammu-smsd writes them instead. On
    SQLite, as there, TimeOut is in gammu-smsd's local time and the other two
    times in the file's UTC.
    """
    with line.engine.begin() as conn:
        now = db_inbox.database_now(conn) - age
        timeout = now + dt.timedelta(seconds=10)
        if line.engine.dialect.name == "sqlite":
            timeout = clock.utc_to_local(timeout, ZoneInfo(TZ))
        values = {"id": phone_id, "imei": f"35{abs(hash(phone_id)) % 10**13:013d}",
                  "now": now, "timeout": timeout}
        if line.engine.dialect.name == "sqlite":
            values = {k: str(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}
        phones = line.tables.phones
        conn.execute(sa.delete(phones).where(phones.c.ID == phone_id))
    line.query_write(
        "INSERT INTO phones (ID, IMEI, IMSI, Client, Send, Receive, UpdatedInDB, "
        "InsertIntoDB, TimeOut) VALUES (:id, :imei, '510100000000000', 'Gammu 1.42.0', "
        "'yes', 'yes', :now, :now, :timeout)", **values,
    )


def inbox_row(number: str, text: str, recipient: str) -> dict[str, object]:
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)
    return {
        "ReceivingDateTime": now, "Text": text.encode("utf-16-be").hex().upper(),
        "SenderNumber": number, "Coding": "Default_No_Compression", "UDH": "",
        "SMSCNumber": "+6281100000", "Class": -1, "TextDecoded": text,
        "RecipientID": recipient,
    }


def test_reply_goes_through_the_modem_the_citizen_texted(
    make_line: Callable[..., Line],
) -> None:
    """With two live modems the acknowledgement leaves by the receiving modem."""
    line = make_line(with_gammu=False)
    register_modem(line, "modem1")
    register_modem(line, "modem2")
    line.insert_inbox([
        inbox_row("+6281234567001", POTHOLE, "modem2"),
        inbox_row("+6281234567002", POTHOLE.replace("semeru", "veteran"), "modem1"),
    ])
    line.cli("run", "--once")

    acks = dict(line.query(
        "SELECT DestinationNumber, SenderID FROM outbox WHERE CreatorID LIKE 'surgad/ack/%'"))
    assert acks == {"+6281234567001": "modem2", "+6281234567002": "modem1"}
    forwards = {row[0] for row in line.query(
        "SELECT SenderID FROM outbox WHERE CreatorID LIKE 'surgad/forward/%'")}
    assert forwards <= {"modem1", "modem2"}

    listed = json.loads(line.cli("modems", "--json").stdout)["modems"]
    assert {(m["phone_id"], m["alive"]) for m in listed} == {("modem1", True),
                                                           ("modem2", True)}


def test_silent_modem_queue_is_released(make_line: Callable[..., Line]) -> None:
    """A modem whose heartbeat stopped no longer holds SMS back."""
    line = make_line(with_gammu=False)
    register_modem(line, "modem1")
    register_modem(line, "modem2")
    line.insert_inbox([inbox_row("+6281234567001", POTHOLE, "modem2")])
    line.cli("run", "--once")
    held = "SELECT COUNT(*) FROM outbox WHERE SenderID = 'modem2'"
    assert line.scalar(held) >= 1

    register_modem(line, "modem2", age=dt.timedelta(minutes=10))
    line.cli("watchdog")
    assert line.scalar(held) == 0
    assert line.scalar("SELECT COUNT(*) FROM outbox WHERE SenderID IS NULL") >= 1
    listed = json.loads(line.cli("modems", "--json").stdout)["modems"]
    assert {m["phone_id"]: m["alive"] for m in listed} == {"modem1": True, "modem2": False}


def test_one_modem_means_no_steering(make_line: Callable[..., Line]) -> None:
    """With a single modem every SMS is left to any modem (SenderID empty)."""
    line = make_line(with_gammu=False)
    register_modem(line, "modem1")
    line.insert_inbox([inbox_row("+6281234567001", POTHOLE, "modem1")])
    line.cli("run", "--once")
    assert line.scalar("SELECT COUNT(*) FROM outbox WHERE SenderID IS NOT NULL") == 0


@pytest.mark.gammu
def test_heartbeat_is_shown_in_the_service_zone(make_line: Callable[..., Line]) -> None:
    """`surgad modems` shows gammu-smsd's heartbeat in service.timezone on every database.

    gammu-smsd leaves UpdatedInDB to the column's default: UTC in SQLite, the
    session's zone on the servers.
    """
    assert_heartbeat_in_service_zone(make_line())


@pytest.mark.gammu
@pytest.mark.parametrize("backend", ["postgresql"])
def test_heartbeat_on_a_server_in_another_zone_is_shown_in_the_service_zone(
    make_line: Callable[..., Line], database: databases.Database
) -> None:
    """A server whose sessions run in New York still shows the heartbeat in Jakarta."""
    engine = sa.create_engine(database.url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"ALTER DATABASE \"{database.name}\" SET timezone TO 'America/New_York'"
        )
    engine.dispose()
    assert_heartbeat_in_service_zone(make_line())


def assert_heartbeat_in_service_zone(line: Line) -> None:
    """Check that the heartbeat of the line's gammu-smsd is shown as Jakarta's time now."""
    wait_for(lambda: line.scalar("SELECT COUNT(*) FROM phones"), 30, "gammu-smsd's phones row")
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)

    (modem,) = json.loads(line.cli("modems", "--json").stdout)["modems"]
    shown = dt.datetime.fromisoformat(modem["heartbeat"])
    assert modem["alive"] is True
    assert now - dt.timedelta(minutes=2) <= shown <= now + dt.timedelta(seconds=5)
