"""Send a complaint to the mayor, and record it so it is sent once.

Two things escalate a complaint. The watchdog does when its deadline passes
without follow-up. Routing does at once when the unit the complaint goes to
has no heads (its last head was removed): a forward would reach nobody, and
the mayor would hear of it only at the deadline. Either way the complaint's
``escalated_at`` is set and ``escalate_at`` cleared in the transaction that
queues the mayor's SMS and records the "escalated" event, so no watchdog on
any host finds it due again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from surgad import clock, logs, messages, phone
from surgad.config import Settings
from surgad.db import models, outbox

OVERDUE = "deadline passed without follow-up"


def no_heads(unit: str) -> str:
    """Return the recorded reason for escalating a complaint of a unit without heads."""
    return f"unit {unit} has no heads"


def columns(
    deadline: dt.datetime, now: dt.datetime, has_heads: bool
) -> dict[str, dt.datetime | None]:
    """Return the escalation columns of a complaint routed to a unit now.

    With heads the escalation is due at the deadline; without, it is made now.
    """
    if has_heads:
        return {"escalate_at": deadline, "escalated_at": None}
    return {"escalate_at": None, "escalated_at": now}


def event(complaint_id: int, now: dt.datetime, reason: str) -> dict[str, Any]:
    """Return the history entry of an escalation."""
    return {
        "complaint_id": complaint_id,
        "at": now,
        "actor": "surgad",
        "action": "escalated",
        "detail": reason,
    }


def recorded_at(events: Iterable[Mapping[str, Any]], at: dt.datetime) -> str | None:
    """Return the reason of an escalation recorded at a time, or None if none was.

    A complaint escalated as it was created (its unit had no heads) has its
    escalation recorded at its creation time.
    """
    for item in events:
        if item["action"] == "escalated" and item["at"] == at:
            return str(item["detail"])
    return None


def overdue_sms(
    complaint: models.Complaint, ticket: str, settings: Settings, now: dt.datetime
) -> list[outbox.Sms]:
    """Return the mayor's SMS about a complaint whose deadline passed."""
    unit = settings.units.get(complaint.unit_code)
    name = unit.short if unit else complaint.unit_code
    waited = clock.human_duration((now - complaint.received_at).total_seconds())
    return _to_mayor(messages.escalation(ticket, name, waited, complaint.text), ticket, settings)


def no_heads_sms(
    ticket: str,
    unit: str,
    text: str,
    citizen: str,
    kelurahan: str | None,
    settings: Settings,
) -> list[outbox.Sms]:
    """Return the mayor's SMS about a complaint routed to a unit without heads."""
    short = settings.units[unit].short if unit in settings.units else unit
    sender = phone.mask(citizen) if settings.mask_citizen_numbers else citizen
    text = messages.escalation_no_heads(ticket, short, text, sender, kelurahan)
    return _to_mayor(text, ticket, settings)


def _to_mayor(text: str, ticket: str, settings: Settings) -> list[outbox.Sms]:
    creator = outbox.creator("escalation", ticket)
    return [
        outbox.Sms(number, text, creator, outbox.PRIORITY_ESCALATION)
        for number in settings.mayor_numbers
    ]


NO_HEADS_EVENT = "unit_without_heads"


def no_heads_change(unit: str, ticket: str) -> dict[str, str]:
    """Return the warning that a complaint went to the mayor for want of heads.

    It joins a transaction's changes (see ``actions.log_changes``), so it is
    logged only once that transaction has committed.
    """
    return {"event": NO_HEADS_EVENT, "unit": unit, "ticket": ticket}


def warn_no_heads(unit: str, ticket: str) -> None:
    """Log now that a complaint went to the mayor because its unit has no heads."""
    logs.get().warning(NO_HEADS_EVENT, unit=unit, ticket=ticket, escalated=True)
