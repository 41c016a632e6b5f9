"""Decide what a citizen's message causes: a complaint, a referral, or nothing.

Pure: takes the rebuilt messages and the classifier, returns the rows and SMS
to write. The worker writes them in one transaction with the inbox marks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from surgad import classifier, clock, intake, messages, tickets
from surgad.config import Settings
from surgad.db import models, outbox


@dataclasses.dataclass(frozen=True)
class NewComplaint:
    """A complaint to open for one message."""

    message: intake.Message
    unit: str
    confidence: float
    kelurahan: str | None
    triage: bool


@dataclasses.dataclass
class Plan:
    """Everything one batch writes, apart from ids the database assigns."""

    complaints: list[NewComplaint] = dataclasses.field(default_factory=list)
    replies: list[outbox.Sms] = dataclasses.field(default_factory=list)
    outcomes: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def plan(
    sorting: intake.Sorting,
    engine: classifier.Classifier,
    settings: Settings,
    now: dt.datetime,
) -> Plan:
    """Classify each message and settle every row of the batch."""
    result = Plan()
    for settled in sorting.settled:
        result.outcomes.append(_settled_outcome(settled, sorting, now))
    for message in sorting.messages:
        _route(message, engine.classify(message.text), settings, sorting, now, result)
    return result


def _settled_outcome(
    settled: intake.Settled, sorting: intake.Sorting, now: dt.datetime
) -> dict[str, Any]:
    key = (
        None
        if settled.outcome == models.DUPLICATE
        else sorting.keys.get(settled.row.id)
    )
    return outcome(
        settled.row.id,
        settled.outcome,
        now,
        key,
        settled.reason,
        duplicate_of=settled.duplicate_of,
    )


def _route(
    message: intake.Message,
    found: classifier.Classification,
    settings: Settings,
    sorting: intake.Sorting,
    now: dt.datetime,
    result: Plan,
) -> None:
    if found.code is None:
        for row in message.rows:
            reason = found.kind
            result.outcomes.append(
                outcome(
                    row.id, models.NOT_COMPLAINT, now, sorting.keys.get(row.id), reason
                )
            )
        if found.kind == "referral":
            result.replies.append(
                outbox.Sms(
                    message.sender, messages.referral(), outbox.creator("referral")
                )
            )
        return
    triage = (
        found.confidence < settings.triage_threshold or found.code not in settings.units
    )
    unit = settings.triage_unit if triage else found.code
    result.complaints.append(
        NewComplaint(message, unit, found.confidence, found.kelurahan, triage)
    )


def outcome(
    inbox_id: int,
    kind: str,
    now: dt.datetime,
    key: str | None,
    reason: str | None = None,
    complaint_id: int | None = None,
    duplicate_of: int | None = None,
) -> dict[str, Any]:
    """Return an outcome row for one inbox row."""
    return {
        "inbox_id": inbox_id,
        "outcome": kind,
        "complaint_id": complaint_id,
        "reason": reason,
        "dedup_key": key,
        "duplicate_of": duplicate_of,
        "handled_at": now,
    }


def complaint_row(
    new: NewComplaint, settings: Settings, now: dt.datetime
) -> dict[str, Any]:
    """Return the complaint row to insert for a routed message."""
    received = clock.local_to_utc(new.message.received, settings.zone)
    deadline = clock.deadline(received, settings.units[new.unit].deadline_hours)
    return {
        "citizen": new.message.sender,
        "text": new.message.text,
        "unit_code": new.unit,
        "confidence": new.confidence,
        "kelurahan": new.kelurahan,
        "incomplete": new.message.incomplete,
        "concat_key": new.message.concat_key,
        "status": models.OPEN,
        "received_at": received,
        "created_at": now,
        "deadline_at": deadline,
        "escalate_at": deadline,
        "inbox_id": new.message.rows[0].id,
    }


def complaint_sms(
    new: NewComplaint, complaint_id: int, settings: Settings
) -> list[outbox.Sms]:
    """Return the acknowledgement to the citizen and the forwards to the heads."""
    ticket = tickets.encode(complaint_id)
    unit = settings.units[new.unit]
    sms = [
        outbox.Sms(
            new.message.sender,
            messages.acknowledgement(ticket, unit.short, new.triage),
            outbox.creator("ack", ticket),
        )
    ]
    text = messages.forward(
        ticket,
        new.message.text,
        new.message.sender,
        new.kelurahan,
        settings.mask_citizen_numbers,
        new.message.incomplete,
    )
    sms += [
        outbox.Sms(head, text, outbox.creator("forward", ticket)) for head in unit.heads
    ]
    return sms


def complaint_outcomes(
    new: NewComplaint, complaint_id: int, sorting: intake.Sorting, now: dt.datetime
) -> list[dict[str, Any]]:
    """Return the outcome rows of the inbox rows that made a complaint."""
    return [
        outcome(
            row.id,
            models.COMPLAINT,
            now,
            sorting.keys.get(row.id),
            complaint_id=complaint_id,
        )
        for row in new.message.rows
    ]


def all_row_ids(sorting: intake.Sorting) -> list[int]:
    """Return the ids of every row this batch settles (held rows excluded)."""
    ids = [settled.row.id for settled in sorting.settled]
    ids += [row.id for message in sorting.messages for row in message.rows]
    return sorted(ids)


def created_events(
    news: Sequence[NewComplaint], ids: Sequence[int], now: dt.datetime
) -> list[dict[str, Any]]:
    """Return a history entry per new complaint."""
    return [
        {
            "complaint_id": complaint_id,
            "at": now,
            "actor": "surgad",
            "action": "created",
            "detail": f"routed to {new.unit} (confidence {new.confidence:.2f})"
            + (", incomplete SMS" if new.message.incomplete else ""),
        }
        for new, complaint_id in zip(news, ids, strict=True)
    ]
