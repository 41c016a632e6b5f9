"""Define the one error tree of surgad, its exit codes, and how errors quote input."""

from __future__ import annotations

import enum
import re


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


# Bytes of a command line or the environment that are not UTF-8 reach Python
# as lone surrogates U+DC80 to U+DCFF (PEP 383), which repr() would show as
# "\udcff": they are shown as the bytes they stand for, "\xff".
_UNDECODED = re.compile("[\udc80-\udcff]")
# In repr()'s output: an escaped backslash, or the escape of such a surrogate.
# Matching the escaped backslashes too keeps a typed "\udcff" as typed.
_REPR_ESCAPE = re.compile(r"\\(\\|udc[89a-f][0-9a-f])")


def shown(value: object) -> str:
    """Quote a user's value for an error message: cut, control characters escaped.

    Bytes that are not UTF-8 are shown as escapes such as ``\\xff``.
    """
    return _REPR_ESCAPE.sub(_byte_escape, repr(cut(str(value))))


def _byte_escape(found: re.Match[str]) -> str:
    escape = found.group(1)
    return found.group() if escape == "\\" else f"\\x{escape[3:]}"


def readable(text: str) -> str:
    """Show the bytes of an unquoted value that are not UTF-8 as ``\\xff`` escapes."""
    return _UNDECODED.sub(lambda found: f"\\x{ord(found.group()) - 0xDC00:02x}", text)


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
