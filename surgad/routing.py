"""Turn new complaints into rows and SMS once the database has given them ids."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from surgad import clock, codec, directory, escalation, intake, messages, tickets
from surgad.config import Settings
from surgad.conversation import NewComplaint
from surgad.db import inbox, models, outbox


def settled_outcomes(sorting: intake.Sorting, now: dt.datetime) -> list[tuple[Any, ...]]:
    """Return the outcome rows of rows settled before any message was read."""
    return [
        inbox.outcome(
            item.row.id, item.outcome, now,
            None if item.outcome == models.DUPLICATE else sorting.keys.get(item.row.id),
            item.reason, duplicate_of=item.duplicate_of,
        )
        for item in sorting.settled
    ]


def complaint_row(
    new: NewComplaint, settings: Settings, roster: directory.Directory, now: dt.datetime
) -> dict[str, Any]:
    """Return the complaint row to insert for a routed message."""
    received = clock.local_to_utc(new.message.received, settings.zone)
    # A time stamp from the future (a phone with a wrong clock) cannot delay
    # the deadline: the clock starts no later than when surgad saw the SMS.
    start = min(received, now)
    deadline = clock.deadline(start, roster.deadline_hours(new.unit))
    remind = deadline - dt.timedelta(hours=settings.reminder_hours)
    has_heads = bool(roster.heads_of(new.unit))
    return {
        "citizen": new.message.sender,
        "text": new.full_text(),
        "unit_code": new.unit,
        "confidence": new.confidence,
        "kelurahan": new.kelurahan,
        "incomplete": new.message.incomplete,
        "concat_key": new.message.concat_key,
        "status": models.OPEN,
        "received_at": start,
        "created_at": now,
        "deadline_at": deadline,
        **escalation.columns(deadline, now, has_heads),
        "remind_at": remind if remind > now else None,
        "inbox_id": new.message.rows[0].id,
        "nik": new.nik,
        "reporter_name": new.name,
    }


def complaint_sms(
    new: NewComplaint, complaint_id: int, settings: Settings, roster: directory.Directory
) -> list[outbox.Sms]:
    """Return the acknowledgement to the citizen and the forwards to the heads.

    A unit without heads has its complaint escalated to the mayor instead.
    """
    return _sms(new, tickets.encode(complaint_id), settings, roster)


def _sms(
    new: NewComplaint, ticket: str, settings: Settings, roster: directory.Directory
) -> list[outbox.Sms]:
    heads = roster.heads_of(new.unit)
    sms = []
    if new.acknowledge:
        short = settings.units[new.unit].short
        text = messages.acknowledgement(ticket, short, new.triage, to_mayor=not heads)
        sms.append(outbox.Sms(new.message.sender, text, outbox.creator("ack", ticket)))
    if not heads:
        return sms + escalation.no_heads_sms(
            ticket, new.unit, new.full_text(), new.message.sender, new.kelurahan, settings
        )
    forward = messages.forward(
        ticket, new.full_text(), new.message.sender, new.kelurahan,
        settings.mask_citizen_numbers, new.message.incomplete,
    )
    creator = outbox.creator("forward", ticket)
    return sms + [outbox.Sms(head, forward, creator) for head in heads]


def escalations_at_once(
    news: list[NewComplaint],
    complaint_ids: list[int],
    roster: directory.Directory,
    now: dt.datetime,
    changes: list[dict[str, str]],
) -> list[dict[str, Any]]:
    """Return the history entries of new complaints escalated for want of heads.

    Each one also adds to ``changes`` a warning naming the unit, for the
    caller to log once its transaction has committed.
    """
    events = []
    for new, complaint_id in zip(news, complaint_ids, strict=True):
        if not roster.heads_of(new.unit):
            changes.append(escalation.no_heads_change(new.unit, tickets.encode(complaint_id)))
            events.append(escalation.event(complaint_id, now, escalation.no_heads(new.unit)))
    return events


# Stands for the ticket in SMS drafted before the complaint has its id. A
# private-use character: no text surgad writes holds one, and a citizen's text
# that does is simply not drafted.
TICKET_SLOT = "\ue000"


def draft_sms(
    new: NewComplaint, ticket_width: int, settings: Settings, roster: directory.Directory
) -> list[outbox.Sms] | None:
    """Write a complaint's SMS before its id is known, already laid out in parts.

    The layouts are worked out for a ticket of ``ticket_width`` digits, so
    ``fill_sms`` with a ticket of that width needs no splitting. None if the
    text itself holds TICKET_SLOT.
    """
    if TICKET_SLOT in new.full_text() or TICKET_SLOT in new.message.sender:
        return None
    stand_in = "0" * ticket_width
    return [
        outbox.Sms(sms.destination, sms.text, sms.creator, sms.priority, sms.via,
                   _layout(sms.text.replace(TICKET_SLOT, stand_in)))
        for sms in _sms(new, TICKET_SLOT, settings, roster)
    ]


# Acknowledgements differ only in their ticket: with the placeholder ticket
# most drafts are laid out once.
_layout = functools.lru_cache(maxsize=256)(codec.layout)


def fill_sms(drafts: list[outbox.Sms], complaint_id: int) -> list[outbox.Sms]:
    """Put a complaint's ticket into its drafted SMS."""
    ticket = tickets.encode(complaint_id)
    return [
        outbox.Sms(
            sms.destination,
            sms.text.replace(TICKET_SLOT, ticket),
            sms.creator.replace(TICKET_SLOT, ticket),
            sms.priority,
            sms.via,
            sms.layout,
        )
        for sms in drafts
    ]


def complaint_outcomes(
    new: NewComplaint, complaint_id: int, sorting: intake.Sorting, now: dt.datetime
) -> list[tuple[Any, ...]]:
    """Return the outcome rows of the inbox rows that made a complaint."""
    rows = [
        inbox.outcome(row.id, models.COMPLAINT, now, sorting.keys.get(row.id),
                complaint_id=complaint_id)
        for row in new.message.rows
    ]
    return rows + [
        inbox.outcome(row.id, models.FOLLOWUP, now, sorting.keys.get(row.id),
                "same batch", complaint_id=complaint_id)
        for addition in new.additions
        for row in addition.rows
    ]


def all_row_ids(sorting: intake.Sorting) -> list[int]:
    """Return the ids of every row this batch settles (held rows excluded)."""
    ids = [settled.row.id for settled in sorting.settled]
    ids += [row.id for message in sorting.messages for row in message.rows]
    return sorted(ids)
