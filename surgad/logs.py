"""Configure structlog: one JSON object per line on stdout, for journald."""

from __future__ import annotations

import logging
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
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def get(**context: Any) -> structlog.typing.FilteringBoundLogger:
    """Return a logger with context bound once."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger()
    return logger.bind(**context) if context else logger
