"""Write outgoing SMS into gammu's outbox the way gammu-smsd needs them.

gammu-smsd never splits a row: a message that does not fit one SMS is written
as one ``outbox`` row (part 1) plus ``outbox_multipart`` rows, all in the
caller's transaction, so gammu never sees a message without its parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from surgad import codec
from surgad.db import bulk, gammu

PRIORITY_NORMAL = 0
PRIORITY_ESCALATION = 100


class Sms(NamedTuple):
    """One message for gammu-smsd to send to one E.164 number.

    A named tuple, not a frozen dataclass: a complaint makes several on its
    way to the outbox, and a tuple is made in a third of the time.
    """

    destination: str
    text: str
    creator: str
    priority: int = PRIORITY_NORMAL
    via: str | None = None  # gammu PhoneID of the modem to send it; None = any
    # How to cut the text, worked out beforehand on a text like it (see
    # codec.Layout); None, or a layout that does not fit, means split it here.
    layout: codec.Layout | None = None

    def parts(self) -> list[codec.Part]:
        """Cut the text into SMS parts (reference 0), by the layout if it fits."""
        if self.layout is not None and (parts := codec.cut(self.text, self.layout)):
            return parts
        return codec.split(self.text, 0)


# The outbox columns surgad writes, in the order of ``_values``. The rest take
# gammu's schema defaults, which are what gammu-smsd needs of a new row: Text
# NULL (gammu encodes TextDecoded), Class -1, Retries 0, Status 'Reserved'.
_COLUMNS = (
    "DestinationNumber", "TextDecoded", "Coding", "UDH", "MultiPart", "CreatorID",
    "Priority", "SenderID",
)


def _values(tables: gammu.Tables, sms: Sms, part: codec.Part, multipart: bool) -> tuple[Any, ...]:
    return (
        sms.destination, part.text, part.coding, part.udh or None, tables.flag(multipart),
        sms.creator, sms.priority, sms.via,
    )


def _row(tables: gammu.Tables, sms: Sms, part: codec.Part, multipart: bool) -> dict[str, Any]:
    return dict(zip(_COLUMNS, _values(tables, sms, part, multipart), strict=True))


def queue(conn: sa.Connection, tables: gammu.Tables, messages: Sequence[Sms]) -> int:
    """Queue messages in the caller's transaction; return the SMS parts written.

    A long message's concatenation reference is its outbox row id: ids grow by
    one per message, so two long messages in a row never share a reference,
    whichever process wrote them.
    """
    pieces = [(sms, sms.parts()) for sms in messages]
    ids = bulk.reserve_ids(conn, tables.outbox, len(pieces), autoincrement=True)
    if ids is None:
        _queue_unnumbered(conn, tables, pieces)
    else:
        rows: list[tuple[Any, ...]] = []
        later_parts: list[dict[str, Any]] = []
        for row_id, (sms, parts) in zip(ids, pieces, strict=True):
            if len(parts) > 1:
                parts = _referenced(parts, row_id)
                later_parts += _part_rows(row_id, parts)
            rows.append((row_id, *_values(tables, sms, parts[0], len(parts) > 1)))
        bulk.insert_values(conn, tables.outbox, ("ID", *_COLUMNS), rows)
        bulk.insert(conn, tables.outbox_multipart, later_parts)
    return sum(len(parts) for _sms, parts in pieces)


def _referenced(parts: list[codec.Part], reference: int) -> list[codec.Part]:
    """Return the parts with the concatenation reference taken from an id."""
    total = len(parts)
    return [
        codec.Part(part.text, codec.concat_udh(reference, total, index), part.coding)
        for index, part in enumerate(parts, start=1)
    ]


def _part_rows(row_id: int, parts: list[codec.Part]) -> list[dict[str, Any]]:
    """Return the ``outbox_multipart`` rows of parts 2 and later (Text, Class: defaults)."""
    return [
        {
            "ID": row_id,
            "SequencePosition": position,
            "TextDecoded": part.text,
            "Coding": part.coding,
            "UDH": part.udh,
        }
        for position, part in enumerate(parts[1:], start=2)
    ]


def _queue_unnumbered(
    conn: sa.Connection, tables: gammu.Tables, pieces: list[tuple[Sms, list[codec.Part]]]
) -> None:
    """Queue where ids come only from the insert (MariaDB).

    Every part 1 goes in first; the new ids then name the reference of every
    long message's parts, part 1's UDH set in one UPDATE.
    """
    rows = [_row(tables, sms, parts[0], len(parts) > 1) for sms, parts in pieces]
    ids = bulk.inserted_ids(conn, tables.outbox, rows)
    longs = [
        (row_id, _referenced(parts, row_id))
        for row_id, (_sms, parts) in zip(ids, pieces, strict=True)
        if len(parts) > 1
    ]
    if not longs:
        return
    # Plain SQL: a CASE of one branch per message would be compiled anew by
    # SQLAlchemy for every count of messages.
    whens = " ".join(["WHEN %s THEN %s"] * len(longs))
    listed = ", ".join(["%s"] * len(longs))
    conn.exec_driver_sql(
        f"UPDATE outbox SET UDH = CASE ID {whens} END WHERE ID IN ({listed})",
        (*(value for row_id, parts in longs for value in (row_id, parts[0].udh)),
         *(row_id for row_id, _parts in longs)),
    )
    bulk.insert(conn, tables.outbox_multipart,
                [row for row_id, parts in longs for row in _part_rows(row_id, parts)])


def sent_counts(conn: sa.Connection, tables: gammu.Tables) -> dict[str, int]:
    """Count messages gammu-smsd sent successfully, by surgad message kind."""
    sent = tables.sentitems
    query = (
        sa.select(sent.c.CreatorID, sa.func.count())
        .where(
            sent.c.SequencePosition == 1,
            sent.c.Status.in_(("SendingOK", "SendingOKNoReport", "DeliveryOK")),
        )
        .group_by(sent.c.CreatorID)
    )
    counts: dict[str, int] = {}
    for creator, count in conn.execute(query):
        kind = creator_kind(creator)
        counts[kind] = counts.get(kind, 0) + int(count)
    return counts


def creator(kind: str, ticket: str | None = None) -> str:
    """Return the CreatorID that tags an outgoing SMS with its kind and ticket."""
    return f"surgad/{kind}/{ticket}" if ticket else f"surgad/{kind}"


def creator_kind(creator_id: str) -> str:
    """Return the message kind from a CreatorID written by ``creator``."""
    parts = creator_id.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "surgad" else "other"


def queued(conn: sa.Connection, tables: gammu.Tables) -> int:
    """Count messages still waiting in the outbox."""
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)).scalar_one()
    )
