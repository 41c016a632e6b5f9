"""Spread outgoing SMS over the modems that are alive, within each SIM's budget.

Each modem is one gammu-smsd with its own ``PhoneID``; all share the database.
gammu-smsd sends an outbox row whose ``SenderID`` is empty or its own PhoneID,
so surgad steers a message by writing ``SenderID``:

- a reply to a citizen goes out through the modem that received the citizen's
  SMS (the number the citizen knows), while that modem is alive and under budget;
- other messages are spread by rendezvous hashing of the destination, so one
  head's SMS keep to one modem while the set of modems is stable;
- escalations are left to any modem: with the highest priority, the next free
  modem sends them first;
- with fewer than two modems alive nothing is steered at all.

A modem is alive while its ``phones`` heartbeat is fresh. gammu-smsd sets
``TimeOut`` to now + 10 s but refreshes it only every ``StatusFrequency``
seconds, so a modem counts as silent only when ``TimeOut`` is older than that
period plus a grace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from surgad.db import gammu, inbox, outbox
from surgad.db import modems as db_modems

HOUR = dt.timedelta(hours=1)
GRACE = dt.timedelta(seconds=30)


@dataclasses.dataclass
class Pool:
    """The modems that can send now, and what each sent in the last hour."""

    alive: list[str]
    sent: Counter[str]
    budget: int

    def pick(self, sms: outbox.Sms, preferred: str | None) -> str | None:
        """Choose the modem for one message, or None for any modem."""
        if len(self.alive) < 2 or sms.priority >= outbox.PRIORITY_ESCALATION:
            return None
        if preferred in self.alive and self.sent[preferred] < self.budget:
            return self._take(preferred)
        fresh = [phone for phone in self.alive if self.sent[phone] < self.budget]
        candidates = fresh or self.alive
        return self._take(max(candidates, key=lambda phone: _rank(phone, sms.destination)))

    def _take(self, phone: str) -> str:
        self.sent[phone] += 1
        return phone


def _rank(phone: str, destination: str) -> bytes:
    return hashlib.sha1(f"{phone}\x1f{destination}".encode()).digest()


def is_alive(row: Mapping[str, Any], now: dt.datetime, status_frequency: float) -> bool:
    """Tell whether a ``phones`` row's heartbeat is fresh (database clock)."""
    return bool(row["timeout"] + dt.timedelta(seconds=status_frequency) + GRACE >= now)


def load(
    conn: sa.Connection,
    tables: gammu.Tables,
    status_frequency: float,
    budget: int,
    zone: ZoneInfo,
) -> Pool:
    """Read the modems' heartbeats and their last hour of sending.

    ``zone`` is gammu-smsd's time zone (see ``db_modems.phones``).
    """
    now = inbox.database_now(conn)
    rows = db_modems.phones(conn, tables, zone)
    alive = sorted({row["id"] for row in rows if is_alive(row, now, status_frequency)})
    sent = Counter(db_modems.sent_since(conn, tables, now - HOUR)) if len(alive) > 1 else Counter()
    return Pool(alive, sent, budget)


def assign(
    pool: Pool, messages: Sequence[outbox.Sms], recipients: Mapping[str, str]
) -> list[outbox.Sms]:
    """Return the messages with the modem that should send each."""
    if len(pool.alive) < 2:
        return list(messages)  # nothing to steer; any modem sends each
    return [
        sms._replace(via=pool.pick(sms, recipients.get(sms.destination)))
        for sms in messages
    ]


def silent_with_queue(
    conn: sa.Connection, tables: gammu.Tables, status_frequency: float, zone: ZoneInfo
) -> list[str]:
    """Return the silent modems that still have SMS queued for them."""
    now = inbox.database_now(conn)
    rows = db_modems.phones(conn, tables, zone)
    silent = [row["id"] for row in rows if not is_alive(row, now, status_frequency)]
    # Asked every watchdog scan: look up only the silent ones, never count
    # the whole outbox (it can hold weeks of SMS for a modem's budget).
    return [phone for phone in silent if db_modems.has_queued(conn, tables, phone)]
