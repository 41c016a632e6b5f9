"""Keep one clock rule for gammu's columns and surgad's own.

gammu-smsd writes ``ReceivingDateTime`` in its own local time (its ``TZ``), while
SQLite's schema defaults (``UpdatedInDB``, ``InsertIntoDB``) are UTC. surgad reads
``ReceivingDateTime`` as local time in the configured zone and stores every time
of its own as naive UTC. gammu compares ``outbox.SendingDateTime`` with its local
time, so surgad never schedules sends; it leaves that column at its default.
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
from collections.abc import Iterable
from zoneinfo import ZoneInfo

UTC = dt.UTC


def utc_now() -> dt.datetime:
    """Return the current time as naive UTC, the form surgad stores."""
    return dt.datetime.now(UTC).replace(tzinfo=None)


def parse_db_time(value: object) -> dt.datetime:
    """Turn a database time value (text in SQLite, datetime elsewhere) into naive."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else _to_utc(value)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip().replace("T", " "))
    raise ValueError(f"not a time value: {value!r}")


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


# SMS of a batch share their time stamps to the second, and a zone lookup costs
# more than the rest of a complaint's times put together.
@functools.lru_cache(maxsize=1024)
def local_to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Read a naive gammu local time in ``zone`` and return naive UTC."""
    return _to_utc(local.replace(tzinfo=zone))


def utc_to_local(utc: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Show a naive UTC time as naive local time in ``zone``."""
    return utc.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def deadline(received_utc: dt.datetime, hours: float) -> dt.datetime:
    """Return when a unit must have followed up a complaint received at a time."""
    return received_utc + dt.timedelta(hours=hours)


def zone_offset_hours(zone: ZoneInfo, at: dt.datetime | None = None) -> float:
    """Return the UTC offset of ``zone`` at a naive UTC time, in hours."""
    moment = (at or utc_now()).replace(tzinfo=UTC).astimezone(zone)
    offset = moment.utcoffset() or dt.timedelta()
    return offset.total_seconds() / 3600


def observed_offset_hours(
    pairs: Iterable[tuple[dt.datetime, dt.datetime]],
) -> float | None:
    """Infer gammu's zone offset from (ReceivingDateTime, insert time UTC) pairs.

    The SMSC time stamp precedes the insert by the network's delivery delay, so
    the median difference, rounded to the quarter hour, is the offset gammu-smsd
    converted with. Returns None when there is nothing to judge by.
    """
    diffs = [(local - utc).total_seconds() / 3600 for local, utc in pairs]
    if not diffs:
        return None
    return round(statistics.median(diffs) * 4) / 4


def offset_from_utc(clock_now: dt.datetime, utc_now: dt.datetime) -> dt.timedelta:
    """Return how far a clock that reads ``clock_now`` at ``utc_now`` is ahead of UTC.

    Rounded to the quarter hour: the two readings differ by a moment anyway.
    """
    quarters = round((clock_now - utc_now).total_seconds() / 900)
    return dt.timedelta(minutes=15 * quarters)


def human_duration(seconds: float) -> str:
    """Say a waiting time the way an SMS reader wants it: '26 jam', '3 hari 2 jam'.

    A deadline can be shorter than a minute, so a time under a minute is said
    in seconds ('40 dtk'), and one under a second as '<1 dtk', never '0 mnt'.
    """
    if seconds < 1:
        return "<1 dtk"
    if seconds < 60:
        return f"{int(seconds)} dtk"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} hari {hours} jam"
    if hours:
        return f"{hours} jam {mins} mnt" if mins else f"{hours} jam"
    return f"{mins} mnt"
