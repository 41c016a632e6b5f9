"""Configure structlog: one JSON object per line on stdout, for journald."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from surgad import phone

# Anything that looks like a phone number inside a log value is masked, so a
# citizen's number never reaches the journal even from a free-text field.
_NUMBER = re.compile(r"(?<![\w.:])\+?\d(?:[\s-]?\d){8,16}(?![\w.:])")
_PHONE_KEYS = frozenset({"sender", "citizen", "destination", "number", "head"})


def _mask_one(raw: str) -> str:
    try:
        return phone.mask(phone.normalise(raw))
    except phone.PhoneError:
        return phone.mask(raw)


def _mask_value(value: str) -> str:
    return _NUMBER.sub(lambda match: _mask_one(match.group(0)), value)


def mask_numbers(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask phone numbers in every string value of a log event."""
    for key, value in event.items():
        if key == "timestamp":
            continue
        if isinstance(value, str) and (key in _PHONE_KEYS or _NUMBER.search(value)):
            event[key] = _mask_value(value)
    return event


class LineWriter:
    """Write each event as one line in a single write(2).

    The supervisor and its workers share one stdout (the journal's pipe, or
    a log file). Python's print() may hand a line to the OS in more than one
    piece, and two processes' pieces then interleave into a line that is no
    JSON. One write of a whole line to a pipe (up to 4 KiB) or to a file
    opened for appending lands whole.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        try:
            self._fd: int | None = stream.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None  # a stream in memory (tests): plain writes

    def msg(self, message: str) -> None:
        line = message + "\n"
        if self._fd is None:
            self._stream.write(line)
            self._stream.flush()
            return
        self._stream.flush()  # whatever was printed before goes first
        data = line.encode("utf-8")
        while data:
            data = data[os.write(self._fd, data):]

    log = debug = info = warning = warn = error = critical = exception = msg
    fatal = failure = err = msg


def staff_level(chosen: str | None, stream: TextIO) -> str:
    """Choose the level of a staff command's events on ``stream`` (its stderr).

    A person at a terminal wants the command's one-line answer, not its
    events: every change is also recorded in the database with who made it
    (``complaints history``), so there only warnings and errors show. When
    stderr is not a terminal (cron, a script, a systemd unit feeding the
    journal), info events go on as JSON lines, for the audit trail. A level
    chosen with ``--log-level`` or ``SURGAD_LOG_LEVEL`` wins.
    """
    if chosen is not None:
        return chosen
    return "warning" if stream.isatty() else "info"


def setup(level: str = "info", stream: TextIO | None = None) -> None:
    """Send structured events as JSON lines to stdout (or another stream).

    The daemon logs to stdout for journald; staff commands log to stderr so
    their stdout stays what they print for people and scripts.
    """
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_numbers,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=lambda *_args: LineWriter(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def get(**context: Any) -> structlog.typing.FilteringBoundLogger:
    """Return a logger with context bound once."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger()
    return logger.bind(**context) if context else logger
