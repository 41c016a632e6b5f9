"""Know who is who on the line: unit heads, the mayor, blocked senders.

Heads and blocked senders live in the database so staff can change them with
the CLI; each worker reloads this directory every few seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping

import sqlalchemy as sa

from surgad import config
from surgad.db import directory as db_directory
from surgad.errors import NotFoundError, StateError

REFRESH_INTERVAL = 10.0


@dataclasses.dataclass(frozen=True)
class Directory:
    """A snapshot of heads, deadlines and blocked senders."""

    heads: Mapping[str, tuple[str, ...]]
    units_of: Mapping[str, tuple[str, ...]]
    mayors: frozenset[str]
    blocked: frozenset[str]
    deadlines: Mapping[str, float]
    loaded_at: float

    def is_staff(self, number: str) -> bool:
        """Tell whether a number belongs to a unit head or the mayor."""
        return number in self.units_of or number in self.mayors

    def heads_of(self, unit: str) -> tuple[str, ...]:
        """Return a unit's head numbers."""
        return self.heads.get(unit, ())

    def without_heads(self) -> list[str]:
        """Return the codes of the units that have no heads, sorted."""
        return sorted(code for code, numbers in self.heads.items() if not numbers)

    def deadline_hours(self, unit: str) -> float:
        """Return a unit's deadline in hours."""
        return self.deadlines.get(unit, 24.0)

    def stale(self) -> bool:
        """Tell whether the snapshot should be reloaded."""
        return time.monotonic() - self.loaded_at > REFRESH_INTERVAL


def remove_head(conn: sa.Connection, unit: str, number: str, force: bool) -> int:
    """Stop a number acting for a unit; return how many heads the unit keeps.

    A unit without heads has nobody in it to forward its complaints to, so
    the last head goes only with ``force``.
    The unit's head rows stay locked until commit: two removals at once cannot
    both see another head left.

    Raises:
        NotFoundError: the number is not a head of the unit.
        StateError: it is the unit's last head and ``force`` is not set.
    """
    heads = db_directory.unit_heads(conn, unit, lock=True)
    if number not in heads:
        raise NotFoundError(f"{number} is not a head of {unit}")
    if len(heads) == 1 and not force:
        raise StateError(
            f"{number} is the last head of {unit}: its complaints would go to no head; "
            f"add another head first (or remove it with --force)"
        )
    db_directory.remove_head(conn, unit, number)
    return len(heads) - 1


def block(
    conn: sa.Connection,
    roster: Directory,
    number: str,
    actor: str,
    reason: str | None,
    now: dt.datetime,
    force: bool,
) -> bool:
    """Block a sender; False if it was blocked already.

    A blocked number is never answered, so a unit head's or the mayor's SMS
    commands would be ignored from then on: their numbers are blocked only
    with ``force``.

    Raises:
        StateError: the number is a head's or the mayor's and ``force`` is not set.
    """
    if not force and (role := _role(roster, number)):
        raise StateError(
            f"{number} is {role}: blocked, its SMS commands would be ignored "
            f"(block it with --force if that is meant)"
        )
    return db_directory.block(conn, number, actor, reason, now)


def _role(roster: Directory, number: str) -> str | None:
    if number in roster.mayors:
        return "the mayor's number"
    if units := roster.units_of.get(number):
        return f"a head of {', '.join(units)}"
    return None


def load(conn: sa.Connection, settings: config.Settings) -> Directory:
    """Read the directory; the CLI's settings win over the config files."""
    stored = db_directory.heads(conn)
    managed = db_directory.managed_units(conn)
    heads = {
        code: tuple(stored.get(code, ())) if code in managed else unit.heads
        for code, unit in settings.units.items()
    }
    units_of: dict[str, list[str]] = {}
    for code, numbers in heads.items():
        for number in numbers:
            units_of.setdefault(number, []).append(code)
    deadlines = {code: unit.deadline_hours for code, unit in settings.units.items()}
    deadlines.update({
        code: hours
        for code, hours in db_directory.deadline_settings(conn).items()
        if config.deadline_problem(hours) is None
    })
    blocked = {row["number"] for row in db_directory.blocked_numbers(conn)}
    return Directory(
        heads=heads,
        units_of={number: tuple(codes) for number, codes in units_of.items()},
        mayors=frozenset(settings.mayor_numbers),
        blocked=frozenset(str(number) for number in blocked),
        deadlines=deadlines,
        loaded_at=time.monotonic(),
    )
