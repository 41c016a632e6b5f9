"""surgad's own tables, beside gammu's in the same database.

Times are naive UTC (see ``surgad.clock``). The alembic migrations in
``surgad/db/migrations`` create and evolve these tables; keep both in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _utc(nullable: bool = False, index: bool = False) -> Any:
    """Declare a naive-UTC timestamp column (surgad never stores local times)."""
    return Field(default=None, sa_type=sa.DateTime, nullable=nullable, index=index)


# Outcomes of an inbox row; every row that gammu-smsd stored ends as one of them.
COMPLAINT = "complaint"
FOLLOWUP = "followup"
COMMAND = "command"
DUPLICATE = "duplicate"
NON_CITIZEN = "non_citizen"
NOT_COMPLAINT = "not_complaint"
REJECTED = "rejected"
OUTCOMES = (
    COMPLAINT,
    FOLLOWUP,
    COMMAND,
    DUPLICATE,
    NON_CITIZEN,
    NOT_COMPLAINT,
    REJECTED,
)

# Complaint states, in the order a complaint normally moves through them.
OPEN = "open"
ACKED = "acked"
RESOLVED = "resolved"
STATES = (OPEN, ACKED, RESOLVED)


# Characters of a person's name recorded with a change (the staff user, or
# the number of a head acting by SMS).
ACTOR_LENGTH = 64


class Complaint(SQLModel, table=True):
    """A citizen's complaint, routed to one unit."""

    __tablename__ = "surgad_complaint"

    id: int | None = Field(default=None, primary_key=True)
    citizen: str = Field(max_length=32)  # indexed with created_at (migration 0002)
    text: str
    unit_code: str = Field(max_length=16, index=True)
    confidence: float
    kelurahan: str | None = Field(default=None, max_length=64)
    incomplete: bool = False
    concat_key: str | None = Field(default=None, max_length=64)
    status: str = Field(default=OPEN, max_length=16, index=True)
    received_at: dt.datetime = _utc()
    created_at: dt.datetime = _utc()
    deadline_at: dt.datetime = _utc()
    # Set while an escalation is still due, cleared once sent or no longer due:
    # the watchdog's scan is a range read on this one small index.
    escalate_at: dt.datetime | None = _utc(nullable=True, index=True)
    escalated_at: dt.datetime | None = _utc(nullable=True)
    acked_at: dt.datetime | None = _utc(nullable=True)
    resolved_at: dt.datetime | None = _utc(nullable=True)
    resolution_note: str | None = None
    inbox_id: int  # the first inbox row; its outcome row leads back here
    nik: str | None = Field(default=None, max_length=16)
    reporter_name: str | None = Field(default=None, max_length=100)
    last_note: str | None = None
    # Set while a reminder to the unit's heads is still due before the deadline.
    remind_at: dt.datetime | None = _utc(nullable=True, index=True)
    reopened_at: dt.datetime | None = _utc(nullable=True)


class InboxOutcome(SQLModel, table=True):
    """What became of one gammu inbox row."""

    __tablename__ = "surgad_inbox_outcome"

    inbox_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    outcome: str = Field(max_length=16)
    complaint_id: int | None = Field(default=None, index=True)
    reason: str | None = Field(default=None, max_length=200)
    # Fingerprint of the SMS as the network delivered it; unique, so the same
    # SMS stored twice by gammu-smsd can never open two complaints.
    dedup_key: str | None = Field(default=None, max_length=40, unique=True)
    duplicate_of: int | None = None
    handled_at: dt.datetime = _utc()


class Event(SQLModel, table=True):
    """One step in a complaint's history: who did what, and when."""

    __tablename__ = "surgad_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(index=True)
    at: dt.datetime = _utc()
    actor: str = Field(max_length=ACTOR_LENGTH)
    action: str = Field(max_length=32)
    detail: str | None = None  # for people: the units of a reassignment are also below
    # A reassignment's units, so that code need not read them from ``detail``.
    from_unit: str | None = Field(default=None, max_length=16)
    to_unit: str | None = Field(default=None, max_length=16)


class Head(SQLModel, table=True):
    """A phone number allowed to act for a unit by SMS."""

    __tablename__ = "surgad_head"

    id: int | None = Field(default=None, primary_key=True)
    unit_code: str = Field(max_length=16)
    number: str = Field(max_length=32, index=True)
    added_at: dt.datetime = _utc()
    added_by: str = Field(max_length=ACTOR_LENGTH)


class UnitSetting(SQLModel, table=True):
    """A unit setting changed from the CLI; wins over the config files."""

    __tablename__ = "surgad_unit_setting"

    code: str = Field(primary_key=True, max_length=16)
    deadline_hours: float | None = None
    changed_at: dt.datetime = _utc()
    changed_by: str = Field(max_length=ACTOR_LENGTH)


BLOCK_REASON_LENGTH = 200  # characters of a blocked sender's reason


class BlockedSender(SQLModel, table=True):
    """A number whose SMS are stored but never answered nor forwarded."""

    __tablename__ = "surgad_blocked_sender"

    number: str = Field(primary_key=True, max_length=32)
    blocked_at: dt.datetime = _utc()
    blocked_by: str = Field(max_length=ACTOR_LENGTH)
    reason: str | None = Field(default=None, max_length=BLOCK_REASON_LENGTH)


class AutoReply(SQLModel, table=True):
    """One automatic reply sent to a number, for the hourly reply limit."""

    __tablename__ = "surgad_autoreply"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32)
    at: dt.datetime = _utc()


class Digest(SQLModel, table=True):
    """The day a daily digest went to the mayor, so it goes once a day."""

    __tablename__ = "surgad_digest"

    day: str = Field(primary_key=True, max_length=10)
    sent_at: dt.datetime = _utc()
