"""Change a complaint's state, with the SMS each change sends.

The same operations serve unit heads by SMS and staff at the CLI, so both
follow the same rules and send the same texts. Each runs inside the caller's
transaction: the guarded state update, the history entry and the SMS commit
together, so repeating a command (or running it from two places) changes and
notifies once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping

import sqlalchemy as sa

from surgad import clock, directory, errors, escalation, logs, messages, tickets
from surgad.config import Settings
from surgad.db import complaints, gammu, models, outbox
from surgad.db import directory as db_directory
from surgad.db import engine as db_engine
from surgad.errors import NoHeadsError, NotFoundError, RepeatedError, StateError


@dataclasses.dataclass
class Act:
    """Who acts, when, and with what context."""

    conn: sa.Connection
    settings: Settings
    roster: directory.Directory
    actor: str
    now: dt.datetime
    # What changed, for the caller to log once its transaction committed: a
    # change that is rolled back must not show in the log as done.
    changes: list[dict[str, str]] = dataclasses.field(default_factory=list)


def find(conn: sa.Connection, ticket: str, lock: bool = False) -> models.Complaint:
    """Return the complaint of a ticket code, or raise NotFoundError."""
    complaint_id = tickets.decode(ticket)
    found = complaints.get(conn, complaint_id, lock) if complaint_id else None
    if found is None:
        raise NotFoundError(f"no complaint with ticket {errors.shown(ticket)}")
    return found


def _id(complaint: models.Complaint) -> int:
    assert complaint.id is not None
    return complaint.id


def _short(act: Act, code: str) -> str:
    unit = act.settings.units.get(code)
    return unit.short if unit else code


def _change(
    act: Act, complaint: models.Complaint, expected: list[str], action: str,
    detail: str | None, problem: str, recorded: Mapping[str, str] | None = None,
    **values: object,
) -> None:
    """Apply a guarded update and record it, or raise StateError.

    ``recorded``: more columns of the history entry than its detail.
    """
    if not complaints.update_state(act.conn, _id(complaint), expected, **values):
        raise StateError(f"ticket {tickets.encode(_id(complaint))} {problem}")
    complaints.add_events(act.conn, [{
        "complaint_id": _id(complaint), "at": act.now, "actor": act.actor,
        "action": action, "detail": detail, **(recorded or {}),
    }])
    act.changes.append(
        {"action": action, "ticket": tickets.encode(_id(complaint)), "actor": act.actor}
    )


def log_changes(changes: Iterable[dict[str, str]], summarised: bool = False) -> None:
    """Log changes whose transaction has committed.

    A change is ``complaint_changed`` unless it names its own event; a
    complaint sent to the mayor for want of heads is a warning, unless the
    command that sent it tells its user how many went (``summarised``): then
    each is an info event, kept in the log but not shown at a staff terminal.
    """
    log = logs.get()
    for change in changes:
        fields = dict(change)
        event = fields.pop("event", "complaint_changed")
        if event != escalation.NO_HEADS_EVENT:
            log.info(event, **fields)
        elif summarised:
            log.info(event, escalated=True, **fields)
        else:
            log.warning(event, escalated=True, **fields)


def _to_citizen(complaint: models.Complaint, text: str, kind: str) -> outbox.Sms:
    creator = outbox.creator(kind, tickets.encode(_id(complaint)))
    return outbox.Sms(complaint.citizen, text, creator)


def _to_heads(act: Act, unit: str, text: str, kind: str, ticket: str) -> list[outbox.Sms]:
    creator = outbox.creator(kind, ticket)
    return [outbox.Sms(head, text, creator) for head in act.roster.heads_of(unit)]


def accept(act: Act, complaint: models.Complaint) -> list[outbox.Sms]:
    """Record that the unit has taken the complaint up; tell the citizen."""
    _change(act, complaint, [models.OPEN], "acknowledged", None,
            f"is {complaint.status}, not open",
            status=models.ACKED, acked_at=act.now, escalate_at=None, remind_at=None)
    ticket = tickets.encode(_id(complaint))
    text = messages.accepted(ticket, _short(act, complaint.unit_code))
    return [_to_citizen(complaint, text, "accepted")]


def progress(act: Act, complaint: models.Complaint, note: str) -> list[outbox.Sms]:
    """Record a progress note; it counts as follow-up. Tell the citizen once."""
    note = " ".join(note.split())
    if not note:
        raise StateError("a progress note needs some text")
    if complaint.last_note == note:
        return []
    _change(act, complaint, [models.OPEN, models.ACKED], "progress", note,
            "is already resolved", status=models.ACKED, last_note=note,
            acked_at=complaint.acked_at or act.now, escalate_at=None, remind_at=None)
    ticket = tickets.encode(_id(complaint))
    text = messages.progress(ticket, _short(act, complaint.unit_code), note)
    return [_to_citizen(complaint, text, "progress")]


def resolve(act: Act, complaint: models.Complaint, note: str) -> list[outbox.Sms]:
    """Resolve a complaint; the citizen gets the resolution SMS with the note."""
    note = " ".join(note.split()) or "Telah ditindaklanjuti"
    _change(act, complaint, [models.OPEN, models.ACKED], "resolved", note,
            f"is already {complaint.status}", status=models.RESOLVED,
            resolved_at=act.now, escalate_at=None, remind_at=None,
            resolution_note=note, last_note=note, acked_at=complaint.acked_at or act.now)
    ticket = tickets.encode(_id(complaint))
    text = messages.resolution(ticket, _short(act, complaint.unit_code), note)
    return [_to_citizen(complaint, text, "resolution")]


def reassign(
    act: Act, complaint: models.Complaint, unit: str, reason: str
) -> list[outbox.Sms]:
    """Move a complaint to another unit with a fresh deadline; tell all sides."""
    if unit not in act.settings.units:
        raise StateError(f"unknown unit {unit!r}")
    if unit == complaint.unit_code:
        raise StateError(f"ticket {tickets.encode(_id(complaint))} is already with {unit}")
    deadline, remind = due_times(act, unit, act.now)
    has_heads = bool(act.roster.heads_of(unit))
    detail = f"{complaint.unit_code}{_MOVED}{unit}" + (f": {reason}" if reason else "")
    _change(act, complaint, [models.OPEN, models.ACKED], "reassigned", detail,
            "is already resolved", {"from_unit": complaint.unit_code, "to_unit": unit},
            unit_code=unit, status=models.OPEN, acked_at=None,
            deadline_at=deadline, remind_at=remind,
            **escalation.columns(deadline, act.now, has_heads))
    ticket = tickets.encode(_id(complaint))
    forward = messages.forward(ticket, complaint.text, complaint.citizen, complaint.kelurahan,
                               act.settings.mask_citizen_numbers, complaint.incomplete)
    citizen = messages.reassigned_citizen(ticket, _short(act, unit), to_mayor=not has_heads)
    return _to_unit(act, complaint, unit, forward) + [
        _to_citizen(complaint, citizen, "reassigned")
    ]


# A reassignment is shown as "PUPR -> PDAM: reason"; its units are also
# recorded in columns of their own (see ``complaints.moved_out_of``).
_MOVED = " -> "


def reopen(act: Act, complaint: models.Complaint, reason: str) -> list[outbox.Sms]:
    """Reopen a resolved complaint within the window; restart the clock."""
    window = dt.timedelta(days=act.settings.reopen_window)
    if complaint.status != models.RESOLVED:
        raise StateError(f"ticket {tickets.encode(_id(complaint))} is not resolved")
    if complaint.resolved_at and act.now - complaint.resolved_at > window:
        raise StateError(f"ticket {tickets.encode(_id(complaint))} was resolved too long ago")
    deadline, remind = due_times(act, complaint.unit_code, act.now)
    has_heads = bool(act.roster.heads_of(complaint.unit_code))
    _change(act, complaint, [models.RESOLVED], "reopened", reason or None,
            "is not resolved", recorded=None, status=models.OPEN, resolved_at=None,
            acked_at=None,
            reopened_at=act.now, deadline_at=deadline, remind_at=remind,
            **escalation.columns(deadline, act.now, has_heads))
    ticket = tickets.encode(_id(complaint))
    sms = _to_unit(act, complaint, complaint.unit_code,
                   messages.reopened_unit(ticket, complaint.text, reason,
                                          by_citizen=act.actor == complaint.citizen))
    citizen = messages.reopened_citizen(ticket, to_mayor=not has_heads)
    return sms + [_to_citizen(complaint, citizen, "reopened")]


def reprimand(act: Act, complaint: models.Complaint) -> list[outbox.Sms]:
    """Pass the mayor's reminder to the unit's heads; record it.

    Once per unit and deadline: a repeat raises RepeatedError and sends
    nothing. The complaint's row is locked first (on the servers), so that
    two reprimands at once cannot both find none recorded.
    """
    ticket = tickets.encode(_id(complaint))
    complaint = complaints.get(act.conn, _id(complaint), lock=True) or complaint
    if complaint.status == models.RESOLVED:
        raise StateError(f"ticket {ticket} is already resolved")
    if complaints.reprimanded_since_restart(act.conn, _id(complaint)):
        raise RepeatedError(f"ticket {ticket}: {complaint.unit_code} was already reprimanded")
    if not act.roster.heads_of(complaint.unit_code):
        raise NoHeadsError(f"unit {complaint.unit_code} has no heads to remind")
    complaints.add_events(act.conn, [{
        "complaint_id": _id(complaint), "at": act.now, "actor": act.actor,
        "action": "reprimanded", "detail": "reminder from the mayor",
    }])
    text = messages.reprimand(ticket, _short(act, complaint.unit_code), complaint.text)
    return _to_heads(act, complaint.unit_code, text, "reprimand", ticket)


def forward_to_new_heads(act: Act, unit: str) -> list[outbox.Sms]:
    """Forward to a unit's heads what went to the mayor while it had none.

    Those are its unresolved complaints whose last routing was an escalation
    because the unit had no heads. Each forward is recorded ("forwarded"), so
    a complaint is forwarded once; the mayor is not sent it again, and its
    deadline stays as it was.
    """
    heads = act.roster.heads_of(unit)
    if not heads:
        return []
    waiting = complaints.last_sent_to_mayor_for(act.conn, unit, escalation.no_heads(unit))
    sms: list[outbox.Sms] = []
    for complaint in waiting:
        ticket = tickets.encode(_id(complaint))
        text = messages.forward(ticket, complaint.text, complaint.citizen, complaint.kelurahan,
                                act.settings.mask_citizen_numbers, complaint.incomplete)
        sms += _to_heads(act, unit, text, "forward", ticket)
        act.changes.append({"action": "forwarded", "ticket": ticket, "actor": act.actor})
    complaints.add_events(act.conn, [
        {"complaint_id": _id(complaint), "at": act.now, "actor": act.actor,
         "action": "forwarded", "detail": f"to the heads of {unit}: {' '.join(heads)}"}
        for complaint in waiting
    ])
    return sms


def escalate_headless(act: Act, unit: str) -> list[outbox.Sms]:
    """Send the mayor the open complaints of a unit that has just lost its last head.

    They are the ones whose escalation is still to come: each is marked
    escalated, recorded and logged as one routed to a unit without heads, so
    no watchdog sends it again and ``heads add`` forwards it to a new head.
    A complaint the unit has acknowledged stays with it.
    """
    if act.roster.heads_of(unit):
        return []
    sms: list[outbox.Sms] = []
    events = []
    for complaint in complaints.escalation_due_for(act.conn, unit):
        if not complaints.mark_escalated(act.conn, _id(complaint), act.now):
            continue
        ticket = tickets.encode(_id(complaint))
        sms += escalation.no_heads_sms(ticket, unit, complaint.text, complaint.citizen,
                                       complaint.kelurahan, act.settings)
        events.append(escalation.event(_id(complaint), act.now, escalation.no_heads(unit)))
        act.changes.append(escalation.no_heads_change(unit, ticket))
    complaints.add_events(act.conn, events)
    return sms


def _to_unit(
    act: Act, complaint: models.Complaint, unit: str, text: str
) -> list[outbox.Sms]:
    """Send a complaint routed to a unit to its heads; with none, escalate it now.

    The caller has set the escalation columns (``escalation.columns``) in the
    same guarded update, so the mayor gets it once.
    """
    ticket = tickets.encode(_id(complaint))
    if act.roster.heads_of(unit):
        return _to_heads(act, unit, text, "forward", ticket)
    complaints.add_events(act.conn, [
        escalation.event(_id(complaint), act.now, escalation.no_heads(unit))
    ])
    act.changes.append(escalation.no_heads_change(unit, ticket))
    return escalation.no_heads_sms(ticket, unit, complaint.text, complaint.citizen,
                                   complaint.kelurahan, act.settings)


def due_times(act: Act, unit: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """Return the deadline and the reminder time for a complaint started now."""
    deadline = clock.deadline(start, act.roster.deadline_hours(unit))
    remind = deadline - dt.timedelta(hours=act.settings.reminder_hours)
    return deadline, remind if remind > act.now else None


Operation = Callable[[Act, models.Complaint], list[outbox.Sms]]


def run(
    engine: sa.Engine, settings: Settings, ticket: str, actor: str, operation: Operation
) -> models.Complaint:
    """Run one operation from the CLI in its own transaction and queue its SMS."""
    tables = gammu.tables(engine.dialect.name)
    with db_engine.writing(engine) as conn:
        complaint = find(conn, ticket, lock=True)
        act = Act(conn, settings, directory.load(conn, settings), actor,
                  clock.utc_now())
        outbox.queue(conn, tables, operation(act, complaint))
    log_changes(act.changes)
    return complaint


def add_head(
    engine: sa.Engine, settings: Settings, unit: str, number: str, actor: str,
    force: bool = False,
) -> tuple[bool, int]:
    """Register a unit head from the CLI and forward it what waited for one.

    One transaction: the head, the forwards (``forward_to_new_heads``) and
    their records commit together. Returns whether the number was new to the
    unit, and how many complaints were forwarded.

    Raises:
        StateError: the number is the mayor's or a blocked one, and ``force``
            is not set.
    """
    if number in settings.mayor_numbers and not force:
        raise StateError(
            f"{number} is the mayor's number: as a head of {unit} it would also get "
            f"{unit}'s complaints and reminders (add it with --force if that is meant)"
        )
    tables = gammu.tables(engine.dialect.name)
    now = clock.utc_now()
    with db_engine.writing(engine) as conn:
        if number in directory.load(conn, settings).blocked and not force:
            raise StateError(
                f"{number} is blocked: as a head of {unit} its SMS commands would be "
                "ignored (senders unblock it first, or add it with --force)"
            )
        added = db_directory.add_head(conn, unit, number, actor, now)
        act = Act(conn, settings, directory.load(conn, settings), actor, now)
        outbox.queue(conn, tables, forward_to_new_heads(act, unit))
    log_changes(act.changes)
    return added, len(act.changes)


def remove_head(
    engine: sa.Engine, settings: Settings, unit: str, number: str, force: bool, actor: str
) -> tuple[int, int]:
    """Stop a number acting for a unit from the CLI (see ``directory.remove_head``).

    If that was the unit's last head, its open complaints go to the mayor in
    the same transaction (``escalate_headless``). Returns how many heads the
    unit keeps, and how many complaints went to the mayor: the caller says
    that in one line, so each complaint is logged at info, not as a warning.
    """
    tables = gammu.tables(engine.dialect.name)
    now = clock.utc_now()
    with db_engine.writing(engine) as conn:
        left = directory.remove_head(conn, unit, number, force)
        act = Act(conn, settings, directory.load(conn, settings), actor, now)
        outbox.queue(conn, tables, escalate_headless(act, unit))
    log_changes(act.changes, summarised=True)
    return left, len(act.changes)
