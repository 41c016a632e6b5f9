"""Read gammu-smsd's modem heartbeats and the traffic of each modem."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from surgad import clock
from surgad.db import gammu


def phones(conn: sa.Connection, tables: gammu.Tables, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Return every gammu-smsd that registered, with its last heartbeat.

    ``timeout`` is on the database's clock (``inbox.database_now``). gammu-smsd
    writes TimeOut in its own local time (``zone``); on the servers that is the
    database's clock too, but SQLite's clock is UTC, so there it is converted.
    ``heartbeat`` (UpdatedInDB) is on the database's clock as it is: gammu-smsd
    leaves that column to its default and trigger, UTC in SQLite and the
    session's zone on the servers (see ``heartbeat_utc``).
    """
    utc_file = conn.dialect.name == "sqlite"
    table = tables.phones
    query = sa.select(
        table.c.ID, table.c.IMEI, table.c.UpdatedInDB, table.c.TimeOut,
        table.c.Signal, table.c.Sent, table.c.Received,
    ).order_by(table.c.ID)
    return [
        {
            "id": row[0], "imei": row[1], "heartbeat": clock.parse_db_time(row[2]),
            "timeout": _timeout(clock.parse_db_time(row[3]), zone, utc_file),
            "signal": row[4],
            "sent_total": row[5], "received_total": row[6],
        }
        for row in conn.execute(query)
    ]


def heartbeat_utc(row: Mapping[str, Any], database_offset: dt.timedelta) -> dt.datetime:
    """Return a ``phones`` row's heartbeat as naive UTC.

    ``database_offset`` is how far the database's clock is ahead of UTC
    (``inbox.database_offset``).
    """
    heartbeat: dt.datetime = row["heartbeat"]
    return heartbeat - database_offset


def _timeout(local: dt.datetime, zone: ZoneInfo, utc_file: bool) -> dt.datetime:
    return clock.local_to_utc(local, zone) if utc_file else local


def sent_since(
    conn: sa.Connection, tables: gammu.Tables, since: dt.datetime, failed: bool = False
) -> dict[str, int]:
    """Count SMS parts each modem sent (or failed to send) since a database time."""
    sent = tables.sentitems
    query = (
        sa.select(sent.c.SenderID, sa.func.count())
        .where(sent.c.UpdatedInDB >= since)
        .group_by(sent.c.SenderID)
    )
    if failed:
        query = query.where(sent.c.Status.in_(("SendingError", "Error")))
    return {str(phone): int(count) for phone, count in conn.execute(query)}


def received_since(
    conn: sa.Connection, tables: gammu.Tables, since: dt.datetime
) -> dict[str, int]:
    """Count inbox rows each modem stored since a database time (approximate:
    a row's UpdatedInDB moves when surgad marks it processed)."""
    inbox = tables.inbox
    query = (
        sa.select(inbox.c.RecipientID, sa.func.count())
        .where(inbox.c.UpdatedInDB >= since)
        .group_by(inbox.c.RecipientID)
    )
    return {str(phone): int(count) for phone, count in conn.execute(query)}


def queued(conn: sa.Connection, tables: gammu.Tables) -> dict[str | None, int]:
    """Count outbox rows waiting per assigned modem (None: any modem)."""
    outbox = tables.outbox
    query = sa.select(outbox.c.SenderID, sa.func.count()).group_by(outbox.c.SenderID)
    return {phone or None: int(count) for phone, count in conn.execute(query)}


def has_queued(conn: sa.Connection, tables: gammu.Tables, phone_id: str) -> bool:
    """Tell whether any outbox row waits for the given modem."""
    outbox = tables.outbox
    query = sa.select(sa.literal(1)).where(outbox.c.SenderID == phone_id).limit(1)
    return conn.execute(query).first() is not None


def release(conn: sa.Connection, tables: gammu.Tables, phone_ids: Iterable[str]) -> int:
    """Let any modem send what was queued for the given (silent) modems."""
    ids = sorted(set(phone_ids))
    if not ids:
        return 0
    outbox = tables.outbox
    result = conn.execute(
        sa.update(outbox).where(outbox.c.SenderID.in_(ids)).values(SenderID=None)
    )
    return int(result.rowcount)
