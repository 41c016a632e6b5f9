"""Escalate complaints that no unit followed up in time, exactly once each.

The scan reads a small index (``escalate_at`` is set only while an escalation
is due) and marks each complaint in the same transaction that queues the
mayor's SMS, guarded so a second watchdog, on this host or another, finds
nothing left to do. Escalations are logged once that transaction committed:
one that is rolled back must not show in the log as sent.

Reminders before a deadline go to the unit's heads; a unit that has lost all
its heads since gets its complaint sent to the mayor at that time instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from surgad import clock, directory, escalation, logs, messages, modems, tickets
from surgad.config import Settings
from surgad.db import complaints, gammu, models, outbox
from surgad.db import directory as db_directory
from surgad.db import engine as db_engine
from surgad.db import modems as db_modems

SCAN_LIMIT = 500


def scan(
    engine: sa.Engine,
    tables: gammu.Tables,
    settings: Settings,
    now: dt.datetime | None = None,
) -> int:
    """Queue the escalations and reminders now due; return the escalations.

    Escalations include complaints sent to the mayor at their reminder time
    because their unit has lost all its heads.
    """
    now = now or clock.utc_now()
    with db_engine.reading(engine) as conn:
        stuck = modems.silent_with_queue(
            conn, tables, settings.status_frequency, settings.zone
        )
        escalations_due, reminders_due = complaints.due_kinds(conn, now)
    if stuck:
        with db_engine.writing(engine) as conn:
            moved = db_modems.release(conn, tables, stuck)
        logs.get().warning("modem_silent", modems=stuck, released=moved)
    total = 0
    while escalations_due:
        with db_engine.writing(engine) as conn:
            escalated = _scan_once(conn, tables, settings, now)
        _log_escalated(escalated)
        total += len(escalated)
        escalations_due = len(escalated) >= SCAN_LIMIT
    while reminders_due:
        with db_engine.writing(engine) as conn:
            found, headless = _remind_once(conn, tables, settings, now)
        for item in headless:
            escalation.warn_no_heads(item["unit"], item["ticket"])
        total += len(headless)
        reminders_due = found >= SCAN_LIMIT
    return total


def _remind_once(
    conn: sa.Connection, tables: gammu.Tables, settings: Settings, now: dt.datetime
) -> tuple[int, list[dict[str, str]]]:
    """Remind the heads of complaints whose deadline is near.

    A unit that lost all its heads since has nobody to remind: its complaint
    goes to the mayor now, as one routed to a unit without heads does, marked
    escalated in this transaction so no later pass sends it again. Returns the
    complaints found due, and the unit and ticket of each sent to the mayor.
    """
    roster = directory.load(conn, settings)
    sms: list[outbox.Sms] = []
    events = []
    headless = []
    due = complaints.due_reminders(conn, now, SCAN_LIMIT)
    for complaint in due:
        assert complaint.id is not None
        if not complaints.mark_reminded(conn, complaint.id):
            continue
        ticket, unit = tickets.encode(complaint.id), complaint.unit_code
        if heads := roster.heads_of(unit):
            sms += _reminders(complaint, ticket, heads, now)
        elif complaints.mark_escalated(conn, complaint.id, now):
            sms += escalation.no_heads_sms(ticket, unit, complaint.text, complaint.citizen,
                                           complaint.kelurahan, settings)
            events.append(escalation.event(complaint.id, now, escalation.no_heads(unit)))
            headless.append({"unit": unit, "ticket": ticket})
    outbox.queue(conn, tables, sms)
    complaints.add_events(conn, events)
    return len(due), headless


def _reminders(
    complaint: models.Complaint, ticket: str, heads: Sequence[str], now: dt.datetime
) -> list[outbox.Sms]:
    """Return the reminders to a unit's heads that a complaint's deadline is near."""
    left = clock.human_duration(max(0.0, (complaint.deadline_at - now).total_seconds()))
    text = messages.reminder(ticket, left, complaint.text)
    creator = outbox.creator("reminder", ticket)
    return [outbox.Sms(head, text, creator) for head in heads]


def digest(
    engine: sa.Engine, tables: gammu.Tables, settings: Settings,
    now: dt.datetime | None = None,
) -> bool:
    """Send the mayor's daily digest once a day, after the configured local time."""
    if settings.digest_time is None:
        return False
    now = now or clock.utc_now()
    local = clock.utc_to_local(now, settings.zone)
    if local.strftime("%H:%M") < settings.digest_time:
        return False
    since = now - dt.timedelta(days=1)
    day = local.strftime("%Y-%m-%d")
    with db_engine.reading(engine) as conn:
        if db_directory.digest_sent(conn, day):
            return False  # asked every scan: no write transaction for it
    with db_engine.writing(engine) as conn:
        if not db_directory.claim_digest(conn, day, now):
            return False
        found = complaints.received_between(conn, since, now)
        in_time = sum(1 for c in found if c.acked_at and c.acked_at <= c.deadline_at)
        overdue: dict[str, int] = {}
        for c in found:
            if (c.acked_at or now) > c.deadline_at:
                overdue[c.unit_code] = overdue.get(c.unit_code, 0) + 1
        text = messages.digest(local.strftime("%d-%m-%Y"), len(found), in_time, overdue)
        outbox.queue(conn, tables, [
            outbox.Sms(number, text, outbox.creator("digest")) for number in settings.mayor_numbers
        ])
    logs.get().info("digest_sent", complaints=len(found))
    return True


def _scan_once(
    conn: sa.Connection, tables: gammu.Tables, settings: Settings, now: dt.datetime
) -> list[dict[str, str]]:
    """Escalate the overdue complaints; return each one's ticket and unit, to log."""
    sms: list[outbox.Sms] = []
    events = []
    escalated = []
    for complaint in complaints.due_escalations(conn, now, SCAN_LIMIT):
        assert complaint.id is not None
        if not complaints.mark_escalated(conn, complaint.id, now):
            continue
        ticket = tickets.encode(complaint.id)
        sms += escalation.overdue_sms(complaint, ticket, settings, now)
        events.append(escalation.event(complaint.id, now, escalation.OVERDUE))
        escalated.append({"ticket": ticket, "unit": complaint.unit_code})
    outbox.queue(conn, tables, sms)
    complaints.add_events(conn, events)
    return escalated


def _log_escalated(escalated: list[dict[str, str]]) -> None:
    """Log escalations whose transaction has committed."""
    log = logs.get()
    for item in escalated:
        log.info("complaint_escalated", **item)
