"""Compute the per-unit figures staff and the mayor ask for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Iterable, Mapping

from surgad import tickets
from surgad.db import models


@dataclasses.dataclass
class UnitFigures:
    """One unit's row of the report."""

    unit: str
    received: int = 0
    followed_up_in_time: int = 0
    overdue: int = 0
    escalated: int = 0
    resolved: int = 0
    median_followup_hours: float | None = None
    median_resolution_hours: float | None = None
    sms_parts_sent: int = 0


def build(
    found: Iterable[models.Complaint],
    parts_by_creator: Mapping[str, int],
    now: dt.datetime,
) -> list[UnitFigures]:
    """Aggregate complaints (and the SMS sent about them) per unit."""
    rows: dict[str, UnitFigures] = {}
    followups: dict[str, list[float]] = {}
    resolutions: dict[str, list[float]] = {}
    unit_of: dict[int, str] = {}
    for item in found:
        assert item.id is not None
        unit_of[item.id] = item.unit_code
        row = rows.setdefault(item.unit_code, UnitFigures(item.unit_code))
        _count(row, item, now)
        if item.acked_at:
            followups.setdefault(item.unit_code, []).append(_hours(item.acked_at, item))
        if item.resolved_at:
            resolutions.setdefault(item.unit_code, []).append(_hours(item.resolved_at, item))
    for unit, row in rows.items():
        row.median_followup_hours = _median(followups.get(unit))
        row.median_resolution_hours = _median(resolutions.get(unit))
    _bill(rows, unit_of, parts_by_creator)
    return sorted(rows.values(), key=lambda row: row.unit)


def _count(row: UnitFigures, item: models.Complaint, now: dt.datetime) -> None:
    row.received += 1
    in_time = item.acked_at is not None and item.acked_at <= item.deadline_at
    row.followed_up_in_time += in_time
    late = (item.acked_at or now) > item.deadline_at
    row.overdue += late
    row.escalated += item.escalated_at is not None
    row.resolved += item.status == models.RESOLVED


def _hours(at: dt.datetime, item: models.Complaint) -> float:
    return (at - item.received_at).total_seconds() / 3600


def _median(values: list[float] | None) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _bill(
    rows: dict[str, UnitFigures], unit_of: Mapping[int, str], parts: Mapping[str, int]
) -> None:
    """Charge each SMS part about a ticket to the ticket's unit."""
    for creator, count in parts.items():
        complaint_id = tickets.decode(creator.rsplit("/", 1)[-1])
        unit = unit_of.get(complaint_id or 0)
        if unit is not None:
            rows[unit].sms_parts_sent += count
