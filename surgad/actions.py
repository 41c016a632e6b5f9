"""Change a complaint's state on behalf of staff, with the SMS each change sends.

Every change is one transaction: the guarded state update, the history entry
and any SMS to the citizen commit together, so running a command twice (or from
two terminals) changes and notifies once.
"""

from __future__ import annotations

import sqlalchemy as sa

from surgad import clock, logs, messages, tickets
from surgad.config import Settings
from surgad.db import complaints, gammu, models, outbox
from surgad.db import engine as db_engine
from surgad.errors import NotFoundError, StateError


def find(conn: sa.Connection, ticket: str, lock: bool = False) -> models.Complaint:
    """Return the complaint of a ticket code, or raise NotFoundError."""
    complaint_id = tickets.decode(ticket)
    found = complaints.get(conn, complaint_id, lock) if complaint_id else None
    if found is None:
        raise NotFoundError(f"no complaint with ticket {ticket!r}")
    return found


def acknowledge(engine: sa.Engine, ticket: str, actor: str) -> models.Complaint:
    """Record that the unit has followed up; stop the escalation clock."""
    now = clock.utc_now()
    with db_engine.writing(engine) as conn:
        complaint = find(conn, ticket, lock=True)
        assert complaint.id is not None
        changed = complaints.update_state(
            conn,
            complaint.id,
            [models.OPEN],
            status=models.ACKED,
            acked_at=now,
            escalate_at=None,
        )
        if not changed:
            raise StateError(f"ticket {ticket} is {complaint.status}, not open")
        _event(conn, complaint.id, actor, "acknowledged", None)
    logs.get().info("complaint_acknowledged", ticket=ticket, actor=actor)
    return complaint


def resolve(
    engine: sa.Engine, settings: Settings, ticket: str, note: str, actor: str
) -> models.Complaint:
    """Resolve a complaint and queue the citizen's resolution notice."""
    if not note.strip():
        raise StateError("a resolution needs a note for the citizen")
    now = clock.utc_now()
    tables = gammu.tables(engine.dialect.name)
    with db_engine.writing(engine) as conn:
        complaint = find(conn, ticket, lock=True)
        assert complaint.id is not None
        changed = complaints.update_state(
            conn,
            complaint.id,
            [models.OPEN, models.ACKED],
            status=models.RESOLVED,
            resolved_at=now,
            escalate_at=None,
            resolution_note=note.strip(),
            acked_at=complaint.acked_at or now,
        )
        if not changed:
            raise StateError(f"ticket {ticket} is already {complaint.status}")
        unit = settings.units.get(complaint.unit_code)
        text = messages.resolution(
            ticket, unit.short if unit else complaint.unit_code, note
        )
        outbox.queue(
            conn,
            tables,
            [outbox.Sms(complaint.citizen, text, outbox.creator("resolution", ticket))],
        )
        _event(conn, complaint.id, actor, "resolved", note.strip())
    logs.get().info("complaint_resolved", ticket=ticket, actor=actor)
    return complaint


def _event(
    conn: sa.Connection, complaint_id: int, actor: str, action: str, detail: str | None
) -> None:
    complaints.add_events(
        conn,
        [
            {
                "complaint_id": complaint_id,
                "at": clock.utc_now(),
                "actor": actor,
                "action": action,
                "detail": detail,
            }
        ],
    )
