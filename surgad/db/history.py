"""Read everything that happened to one complaint, gammu's SMS tables included."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from surgad import clock
from surgad.db import gammu, inbox, models

_outcome = models.InboxOutcome.__table__  # type: ignore[attr-defined]


def sms_in(conn: sa.Connection, tables: gammu.Tables, complaint_id: int) -> list[dict[str, Any]]:
    """Return the inbox rows settled into a complaint (received time is gammu local)."""
    inbox = tables.inbox
    query = (
        sa.select(inbox.c.ID, inbox.c.ReceivingDateTime, _outcome.c.outcome)
        .join(_outcome, _outcome.c.inbox_id == inbox.c.ID)
        .where(_outcome.c.complaint_id == complaint_id)
        .order_by(inbox.c.ID)
    )
    return [
        {"inbox_id": row[0], "received_local": clock.parse_db_time(row[1]), "outcome": row[2]}
        for row in conn.execute(query)
    ]


def sms_out(conn: sa.Connection, tables: gammu.Tables, ticket: str) -> list[dict[str, Any]]:
    """Return every SMS surgad queued about a ticket: waiting, sent or failed.

    ``queued_at`` (UTC) is the outbox row's ``InsertIntoDB``, which gammu-smsd
    copies into ``sentitems``: the one time both tables hold in the same zone.
    """
    pattern = f"surgad/%/{ticket}"
    offset = inbox.database_offset(conn)
    found = []
    for table, state in ((tables.outbox, None), (tables.sentitems, "sent")):
        columns = [table.c.ID, table.c.DestinationNumber, table.c.CreatorID]
        status = table.c.Status if state else sa.literal("queued")
        query = sa.select(*columns, status, table.c.InsertIntoDB).where(
            table.c.CreatorID.like(pattern)
        )
        if state:
            query = query.where(table.c.SequencePosition == 1)
        for row in conn.execute(query.order_by(table.c.ID)):
            found.append({
                "outbox_id": row[0], "to": row[1],
                "kind": str(row[2]).split("/")[1], "status": row[3],
                "queued_at": clock.parse_db_time(row[4]) - offset,
            })
    return sorted(found, key=lambda item: item["outbox_id"])


def parts_sent_by_creator(conn: sa.Connection, tables: gammu.Tables) -> dict[str, int]:
    """Count SMS parts gammu-smsd sent, per CreatorID (what the operator bills)."""
    sent = tables.sentitems
    query = (
        sa.select(sent.c.CreatorID, sa.func.count())
        .where(sent.c.CreatorID.like("surgad/%"))
        .group_by(sent.c.CreatorID)
    )
    return {creator: int(count) for creator, count in conn.execute(query)}
