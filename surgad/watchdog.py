"""Escalate complaints that no unit followed up in time, exactly once each.

The scan reads a small index (``escalate_at`` is set only while an escalation
is due) and marks each complaint in the same transaction that queues the
mayor's SMS, guarded so a second watchdog, on this host or another, finds
nothing left to do.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from surgad import clock, logs, messages, tickets
from surgad.config import Settings
from surgad.db import complaints, gammu, models, outbox
from surgad.db import engine as db_engine

SCAN_LIMIT = 500


def scan(
    engine: sa.Engine,
    tables: gammu.Tables,
    settings: Settings,
    now: dt.datetime | None = None,
) -> int:
    """Queue the escalations now due; return how many complaints escalated."""
    now = now or clock.utc_now()
    total = 0
    while True:
        with db_engine.writing(engine) as conn:
            escalated = _scan_once(conn, tables, settings, now)
        total += escalated
        if escalated < SCAN_LIMIT:
            return total


def _scan_once(
    conn: sa.Connection, tables: gammu.Tables, settings: Settings, now: dt.datetime
) -> int:
    log = logs.get()
    sms: list[outbox.Sms] = []
    events = []
    for complaint in complaints.due_escalations(conn, now, SCAN_LIMIT):
        assert complaint.id is not None
        if not complaints.mark_escalated(conn, complaint.id, now):
            continue
        ticket = tickets.encode(complaint.id)
        sms += _escalation_sms(complaint, ticket, settings, now)
        events.append(
            {
                "complaint_id": complaint.id,
                "at": now,
                "actor": "surgad",
                "action": "escalated",
                "detail": "deadline passed without follow-up",
            }
        )
        log.info("complaint_escalated", ticket=ticket, unit=complaint.unit_code)
    outbox.queue(conn, tables, sms)
    complaints.add_events(conn, events)
    return len(events)


def _escalation_sms(
    complaint: models.Complaint,
    ticket: str,
    settings: Settings,
    now: dt.datetime,
) -> list[outbox.Sms]:
    unit = settings.units.get(complaint.unit_code)
    name = unit.short if unit else complaint.unit_code
    waited = clock.human_duration((now - complaint.received_at).total_seconds())
    text = messages.escalation(ticket, name, waited, complaint.text)
    creator = outbox.creator("escalation", ticket)
    return [
        outbox.Sms(number, text, creator, outbox.PRIORITY_ESCALATION)
        for number in settings.mayor_numbers
    ]
