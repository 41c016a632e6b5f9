"""Define the one error tree of surgad, its exit codes, and how errors quote input."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Name the process exit statuses, so systemd and scripts can tell them apart."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    DATABASE = 4
    NOT_FOUND = 5
    CONFLICT = 6
    WORKER_LOST = 7


SHOWN_WIDTH = 40  # characters of a user's value repeated in an error message


def cut(text: str) -> str:
    """Shorten a user's value to what an error message needs to point at it."""
    return text if len(text) <= SHOWN_WIDTH else text[:SHOWN_WIDTH] + "…"


def shown(value: object) -> str:
    """Quote a user's value for an error message: cut, control characters escaped."""
    return repr(cut(str(value)))


class SurgadError(Exception):
    """Root of every error surgad raises on purpose."""

    exit_code = ExitCode.FAILURE


class ConfigError(SurgadError):
    """A configuration file is missing, unreadable or holds a bad value.

    ``key`` is None when the problem is the file itself (missing, not TOML).
    """

    exit_code = ExitCode.CONFIG

    def __init__(self, path: str, key: str | None, problem: str) -> None:
        where = path if key is None else f"{path}: {key}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


class DatabaseError(SurgadError):
    """The database cannot be reached or does not hold the expected schema."""

    exit_code = ExitCode.DATABASE


class NotFoundError(SurgadError):
    """A ticket, unit or row named by the user does not exist."""

    exit_code = ExitCode.NOT_FOUND


class StateError(SurgadError):
    """A change is not allowed in the record's current state."""

    exit_code = ExitCode.CONFLICT


class NoHeadsError(StateError):
    """A unit has no heads to send to."""


class RepeatedError(StateError):
    """A change was made before: repeating it changes and sends nothing."""


class WorkerLostError(SurgadError):
    """The supervisor could not keep its worker pool alive."""

    exit_code = ExitCode.WORKER_LOST
