"""Store complaints, their state changes and their history."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from surgad.db import bulk, models

complaint = models.Complaint.__table__  # type: ignore[attr-defined]
event = models.Event.__table__  # type: ignore[attr-defined]
outcome = models.InboxOutcome.__table__  # type: ignore[attr-defined]


def insert(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert complaints; return their new ids in the order given."""
    if not rows:
        return []
    reserved = bulk.reserve_ids(conn, complaint, len(rows))
    if reserved is not None:
        columns = tuple(rows[0])
        take = operator.itemgetter(*columns)
        values = [(i, *take(row)) for i, row in zip(reserved, rows, strict=True)]
        bulk.insert_values(conn, complaint, ("id", *columns), values)
        return reserved
    return bulk.inserted_ids(conn, complaint, rows)


def highest_id(conn: sa.Connection) -> int:
    """Return the highest complaint id so far (0 for none)."""
    query = sa.select(sa.func.coalesce(sa.func.max(complaint.c.id), 0))
    return int(conn.execute(query).scalar_one())


def add_events(conn: sa.Connection, events: Sequence[dict[str, Any]]) -> None:
    """Record history entries (complaint_id, at, actor, action, detail)."""
    if events:
        conn.execute(sa.insert(event), list(events))


def get(
    conn: sa.Connection, complaint_id: int, lock: bool = False
) -> models.Complaint | None:
    """Return one complaint, or None."""
    query = sa.select(complaint).where(complaint.c.id == complaint_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return models.Complaint(**row) if row else None


def listing(
    conn: sa.Connection,
    *,
    status: str | None = None,
    unit: str | None = None,
    overdue_at: dt.datetime | None = None,
    limit: int = 100,
) -> list[models.Complaint]:
    """Return complaints, newest first, filtered as asked."""
    query = sa.select(complaint).order_by(complaint.c.id.desc()).limit(limit)
    if status:
        query = query.where(complaint.c.status == status)
    if unit:
        query = query.where(complaint.c.unit_code == unit)
    if overdue_at is not None:
        query = query.where(
            complaint.c.status == models.OPEN, complaint.c.deadline_at <= overdue_at
        )
    return [models.Complaint(**row) for row in conn.execute(query).mappings()]


def history(conn: sa.Connection, complaint_id: int) -> list[dict[str, Any]]:
    """Return a complaint's recorded events, oldest first."""
    query = (
        sa.select(event.c.at, event.c.actor, event.c.action, event.c.detail)
        .where(event.c.complaint_id == complaint_id)
        .order_by(event.c.at, event.c.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def moved_out_of(
    conn: sa.Connection, complaint_id: int, units: Iterable[str]
) -> str | None:
    """Return the unit a complaint was last reassigned to out of one of ``units``."""
    query = (
        sa.select(event.c.to_unit)
        .where(
            event.c.complaint_id == complaint_id,
            event.c.action == "reassigned",
            event.c.from_unit.in_(sorted(set(units))),
        )
        .order_by(event.c.at.desc(), event.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


# A reassignment or a reopening gives the unit a fresh deadline: what the
# mayor said about the complaint before it no longer applies.
_RESTARTS = ("reassigned", "reopened")


def reprimanded_since_restart(conn: sa.Connection, complaint_id: int) -> bool:
    """Tell whether the mayor reprimanded a complaint's unit since its clock restarted.

    The clock restarts when the complaint is reassigned or reopened, so this is
    a reprimand of the unit that has it now, for the deadline it has now.
    """
    restarted = (
        sa.select(sa.func.coalesce(sa.func.max(event.c.id), 0))
        .where(event.c.complaint_id == complaint_id, event.c.action.in_(_RESTARTS))
        .scalar_subquery()
    )
    query = sa.select(sa.literal(1)).where(
        event.c.complaint_id == complaint_id,
        event.c.action == "reprimanded",
        event.c.id > restarted,
    ).limit(1)
    return conn.execute(query).first() is not None


# The events that send a complaint somewhere (a forward with a new complaint is
# not recorded; it has no event before these): the last one says where it went.
_ROUTED = ("escalated", "forwarded", "reassigned", "reopened")


def last_sent_to_mayor_for(
    conn: sa.Connection, unit: str, reason: str
) -> list[models.Complaint]:
    """Return a unit's unresolved complaints whose last routing was an escalation for ``reason``.

    On the servers the unit's escalated complaints stay locked until commit,
    and their events are read after the lock: a transaction that waited for
    another one's forwards sees them.
    """
    escalated = sa.and_(
        complaint.c.unit_code == unit,
        complaint.c.status != models.RESOLVED,
        complaint.c.escalated_at.is_not(None),
    )
    query = sa.select(complaint).where(escalated).order_by(complaint.c.id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    found = [models.Complaint(**row) for row in conn.execute(query).mappings()]
    routed = (
        sa.select(event.c.complaint_id, event.c.action, event.c.detail)
        .join(complaint, complaint.c.id == event.c.complaint_id)
        .where(escalated, event.c.action.in_(_ROUTED))
        .order_by(event.c.id)
    )
    last = {row[0]: (row[1], row[2]) for row in conn.execute(routed)}
    return [item for item in found if last.get(item.id) == ("escalated", reason)]


def escalation_due_for(conn: sa.Connection, unit: str) -> list[models.Complaint]:
    """Return a unit's complaints whose escalation is still to come, oldest first.

    On the servers they stay locked until commit, as the watchdog's claims do.
    """
    query = (
        sa.select(complaint)
        .where(complaint.c.unit_code == unit, complaint.c.escalate_at.is_not(None))
        .order_by(complaint.c.id)
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return [models.Complaint(**row) for row in conn.execute(query).mappings()]


def update_state(
    conn: sa.Connection, complaint_id: int, expected: Sequence[str], **values: Any
) -> bool:
    """Change a complaint if it is still in one of the expected states."""
    result = conn.execute(
        sa.update(complaint)
        .where(complaint.c.id == complaint_id, complaint.c.status.in_(expected))
        .values(**values)
    )
    return result.rowcount == 1


def due_escalations(
    conn: sa.Connection, now: dt.datetime, limit: int
) -> list[models.Complaint]:
    """Return open complaints whose deadline passed and that are not escalated."""
    return _due(conn, complaint.c.escalate_at, now, limit)


def due_kinds(conn: sa.Connection, now: dt.datetime) -> tuple[bool, bool]:
    """Tell whether any escalation, and any reminder, is due, without locking.

    The watchdog asks this in a read transaction every scan, so that on SQLite
    it takes the write lock (which gammu-smsd cannot wait for) only when
    there is something to write.
    """
    found = [
        conn.execute(
            sa.select(sa.literal(1)).where(column <= now).limit(1)
        ).first() is not None
        for column in (complaint.c.escalate_at, complaint.c.remind_at)
    ]
    return found[0], found[1]


def _due(
    conn: sa.Connection, column: sa.Column[Any], now: dt.datetime, limit: int
) -> list[models.Complaint]:
    """Return complaints whose ``column`` time has come, claimed with row locks."""
    query = sa.select(complaint).where(column <= now).order_by(column).limit(limit)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return [models.Complaint(**row) for row in conn.execute(query).mappings()]


def mark_escalated(conn: sa.Connection, complaint_id: int, now: dt.datetime) -> bool:
    """Record an escalation unless another watchdog recorded it first."""
    result = conn.execute(
        sa.update(complaint)
        .where(complaint.c.id == complaint_id, complaint.c.escalate_at.is_not(None))
        .values(escalate_at=None, escalated_at=now)
    )
    return result.rowcount == 1


def counts_by_unit(conn: sa.Connection) -> dict[str, int]:
    """Count complaints per unit code."""
    query = sa.select(complaint.c.unit_code, sa.func.count()).group_by(
        complaint.c.unit_code
    )
    return {unit: int(count) for unit, count in conn.execute(query)}


def inbox_units(conn: sa.Connection) -> dict[int, str]:
    """Map each complaint's first inbox row id to the unit it was routed to."""
    query = sa.select(complaint.c.inbox_id, complaint.c.unit_code)
    return {int(inbox_id): unit for inbox_id, unit in conn.execute(query)}


_SINCE: sa.BindParameter[dt.datetime] = sa.bindparam("since")
# Built once: these run for every batch, and building a statement with an IN
# list of hundreds of numbers costs more than running it.
_LATEST = sa.select(complaint).where(
    complaint.c.id.in_(
        sa.select(sa.func.max(complaint.c.id))
        .where(bulk.OneOf(complaint.c.citizen, "citizens"))
        .group_by(complaint.c.citizen)
        .scalar_subquery()
    )
)
# The hourly limits' counts in one round trip: complaints opened ("o"),
# follow-ups passed on ("f"), automatic replies logged ("r").
_autoreply = models.AutoReply.__table__  # type: ignore[attr-defined]
_HOURLY = sa.union_all(
    sa.select(sa.literal_column("'o'"), complaint.c.citizen, sa.func.count())
    .where(bulk.OneOf(complaint.c.citizen, "citizens"), complaint.c.created_at >= _SINCE)
    .group_by(complaint.c.citizen),
    sa.select(sa.literal_column("'f'"), complaint.c.citizen, sa.func.count())
    .select_from(outcome.join(complaint, complaint.c.id == outcome.c.complaint_id))
    .where(
        bulk.OneOf(complaint.c.citizen, "citizens"),
        outcome.c.outcome == models.FOLLOWUP,
        outcome.c.handled_at >= _SINCE,
    )
    .group_by(complaint.c.citizen),
    sa.select(sa.literal_column("'r'"), _autoreply.c.number, sa.func.count())
    .where(bulk.OneOf(_autoreply.c.number, "citizens"), _autoreply.c.at >= _SINCE)
    .group_by(_autoreply.c.number),
)


def hourly_counts(
    conn: sa.Connection, citizens: Iterable[str], since: dt.datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Count, per citizen since a time, what the hourly limits count.

    Returns the complaints and follow-ups sent (both are passed on to unit
    heads, so both count against the complaint limit), and the automatic
    replies logged.
    """
    opened: dict[str, int] = {}
    replies: dict[str, int] = {}
    for chunk in bulk.in_lists(conn, citizens):
        for kind, citizen, count in conn.execute(_HOURLY, {"citizens": chunk, "since": since}):
            counts = replies if kind == "r" else opened
            counts[citizen] = counts.get(citizen, 0) + int(count)
    return opened, replies


def latest_of(conn: sa.Connection, citizen: str) -> models.Complaint | None:
    """Return a citizen's most recent complaint, if any."""
    query = (
        sa.select(complaint)
        .where(complaint.c.citizen == citizen)
        .order_by(complaint.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return models.Complaint(**row) if row else None


def append_text(conn: sa.Connection, complaint_id: int, addition: str) -> None:
    """Add a citizen's follow-up text to a complaint."""
    conn.execute(
        sa.update(complaint)
        .where(complaint.c.id == complaint_id)
        .values(text=complaint.c.text + "\n+ " + addition.strip())
    )


def open_for_unit(
    conn: sa.Connection, unit: str, limit: int
) -> list[models.Complaint]:
    """Return a unit's unresolved complaints, earliest deadline first."""
    query = (
        sa.select(complaint)
        .where(complaint.c.unit_code == unit, complaint.c.status != models.RESOLVED)
        .order_by(complaint.c.deadline_at)
        .limit(limit)
    )
    return [models.Complaint(**row) for row in conn.execute(query).mappings()]


def count_open(conn: sa.Connection, unit: str) -> int:
    """Count a unit's unresolved complaints."""
    query = sa.select(sa.func.count()).where(
        complaint.c.unit_code == unit, complaint.c.status != models.RESOLVED
    )
    return int(conn.execute(query).scalar_one())


def due_reminders(
    conn: sa.Connection, now: dt.datetime, limit: int
) -> list[models.Complaint]:
    """Return complaints whose reminder to the heads is due."""
    return _due(conn, complaint.c.remind_at, now, limit)


def mark_reminded(conn: sa.Connection, complaint_id: int) -> bool:
    """Clear a due reminder unless another watchdog cleared it first."""
    result = conn.execute(
        sa.update(complaint)
        .where(complaint.c.id == complaint_id, complaint.c.remind_at.is_not(None))
        .values(remind_at=None)
    )
    return result.rowcount == 1


def received_between(
    conn: sa.Connection, start: dt.datetime, end: dt.datetime
) -> list[models.Complaint]:
    """Return complaints received in [start, end)."""
    query = sa.select(complaint).where(
        complaint.c.received_at >= start, complaint.c.received_at < end
    )
    return [models.Complaint(**row) for row in conn.execute(query).mappings()]


def incomplete_for(
    conn: sa.Connection, citizen: str, concat_key: str, since: dt.datetime
) -> models.Complaint | None:
    """Return the citizen's recent incomplete complaint from the same long SMS."""
    query = (
        sa.select(complaint)
        .where(
            complaint.c.citizen == citizen,
            complaint.c.concat_key == concat_key,
            complaint.c.incomplete.is_(True),
            complaint.c.created_at >= since,
        )
        .order_by(complaint.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return models.Complaint(**row) if row else None


def latest_by_citizen(
    conn: sa.Connection, citizens: Iterable[str]
) -> dict[str, models.Complaint]:
    """Return each citizen's most recent complaint, for those who have one."""
    found: dict[str, models.Complaint] = {}
    for chunk in bulk.in_lists(conn, citizens):
        for row in conn.execute(_LATEST, {"citizens": chunk}).mappings():
            found[row["citizen"]] = models.Complaint(**row)
    return found
