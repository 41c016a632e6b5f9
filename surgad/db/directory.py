"""Store who may act by SMS (unit heads), who is blocked, and unit settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from surgad.db import models

head = models.Head.__table__  # type: ignore[attr-defined]
blocked = models.BlockedSender.__table__  # type: ignore[attr-defined]
setting = models.UnitSetting.__table__  # type: ignore[attr-defined]
autoreply = models.AutoReply.__table__  # type: ignore[attr-defined]
digest = models.Digest.__table__  # type: ignore[attr-defined]


def heads(conn: sa.Connection) -> dict[str, list[str]]:
    """Return head numbers per unit code."""
    found: dict[str, list[str]] = {}
    query = sa.select(head.c.unit_code, head.c.number).order_by(head.c.id)
    for unit, number in conn.execute(query):
        found.setdefault(unit, []).append(number)
    return found


def managed_units(conn: sa.Connection) -> set[str]:
    """Return the units whose heads the database manages (seeded once)."""
    return {code for (code,) in conn.execute(sa.select(setting.c.code))}


def seed_heads(
    conn: sa.Connection, configured: Mapping[str, Iterable[str]], now: dt.datetime
) -> int:
    """Copy the config's head numbers, once per unit; later `surgad heads` rules.

    A unit's row in ``surgad_unit_setting`` marks it as seeded, so removing its
    last head stays removed and a later ``db init`` does not bring numbers back.
    """
    managed = managed_units(conn)
    units = [unit for unit in configured if unit not in managed]
    rows = [
        {"unit_code": unit, "number": number, "added_at": now, "added_by": "config"}
        for unit in units
        for number in configured[unit]
    ]
    if rows:
        conn.execute(sa.insert(head), rows)
    if units:
        conn.execute(sa.insert(setting), [
            {"code": unit, "deadline_hours": None, "changed_at": now, "changed_by": "config"}
            for unit in units
        ])
    return len(rows)


def add_head(conn: sa.Connection, unit: str, number: str, actor: str, now: dt.datetime) -> bool:
    """Register a head number for a unit; False if it was already there."""
    exists = conn.execute(
        sa.select(head.c.id).where(head.c.unit_code == unit, head.c.number == number)
    ).first()
    if exists:
        return False
    conn.execute(
        sa.insert(head).values(unit_code=unit, number=number, added_at=now, added_by=actor)
    )
    return True


def unit_heads(conn: sa.Connection, unit: str, lock: bool = False) -> list[str]:
    """Return a unit's head numbers; with ``lock``, hold their rows until commit."""
    query = sa.select(head.c.number).where(head.c.unit_code == unit).order_by(head.c.id)
    if lock:
        query = query.with_for_update()
    return [number for (number,) in conn.execute(query)]


def remove_head(conn: sa.Connection, unit: str, number: str) -> bool:
    """Remove a head number from a unit; False if it was not there."""
    result = conn.execute(
        sa.delete(head).where(head.c.unit_code == unit, head.c.number == number)
    )
    return result.rowcount > 0


def blocked_numbers(conn: sa.Connection) -> list[dict[str, object]]:
    """Return the blocked senders with who blocked them and why."""
    query = sa.select(blocked).order_by(blocked.c.blocked_at)
    return [dict(row) for row in conn.execute(query).mappings()]


def block(
    conn: sa.Connection, number: str, actor: str, reason: str | None, now: dt.datetime
) -> bool:
    """Block a sender; False if already blocked."""
    if conn.execute(sa.select(blocked.c.number).where(blocked.c.number == number)).first():
        return False
    conn.execute(
        sa.insert(blocked).values(
            number=number, blocked_at=now, blocked_by=actor, reason=reason
        )
    )
    return True


def unblock(conn: sa.Connection, number: str) -> bool:
    """Unblock a sender; False if it was not blocked."""
    return conn.execute(sa.delete(blocked).where(blocked.c.number == number)).rowcount > 0


def deadline_settings(conn: sa.Connection) -> dict[str, float]:
    """Return deadline hours set from the CLI, per unit code."""
    query = sa.select(setting.c.code, setting.c.deadline_hours).where(
        setting.c.deadline_hours.is_not(None)
    )
    return {code: float(hours) for code, hours in conn.execute(query)}


def set_deadline(
    conn: sa.Connection, code: str, hours: float, actor: str, now: dt.datetime
) -> None:
    """Set a unit's deadline in hours, replacing any earlier setting."""
    values = {"deadline_hours": hours, "changed_at": now, "changed_by": actor}
    updated = conn.execute(sa.update(setting).where(setting.c.code == code).values(values))
    if not updated.rowcount:
        conn.execute(sa.insert(setting).values(code=code, **values))


def log_replies(conn: sa.Connection, numbers: Iterable[str], now: dt.datetime) -> None:
    """Record automatic replies for the hourly limit."""
    rows = [{"number": number, "at": now} for number in numbers]
    if rows:
        conn.execute(sa.insert(autoreply), rows)


def digest_sent(conn: sa.Connection, day: str) -> bool:
    """Tell whether a day's digest was claimed already (by any host)."""
    return conn.execute(sa.select(digest.c.day).where(digest.c.day == day)).first() is not None


def claim_digest(conn: sa.Connection, day: str, now: dt.datetime) -> bool:
    """Claim today's digest; False if it was already sent (by any host)."""
    if digest_sent(conn, day):
        return False
    conn.execute(sa.insert(digest).values(day=day, sent_at=now))
    return True
