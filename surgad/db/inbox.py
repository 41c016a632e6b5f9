"""Read gammu's inbox and record what became of each row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from surgad import clock, errors, intake
from surgad.db import bulk, gammu
from surgad.db import engine as db_engine
from surgad.db.models import InboxOutcome

_outcome = InboxOutcome.__table__  # type: ignore[attr-defined]

# TextDecoded is never read: in SQLite it can hold invalid UTF-8 that makes the
# driver raise; the Text hex column is the reliable copy of the message.
_COLUMNS = (
    "ID",
    "ReceivingDateTime",
    "UpdatedInDB",
    "Text",
    "SenderNumber",
    "Coding",
    "UDH",
    "Class",
    "RecipientID",
)


def _select(tables: gammu.Tables, raw: bool = False) -> sa.Select[Any]:
    """Select the columns surgad reads of unprocessed rows.

    ``raw`` reads SQLite's text columns as bytes: the driver refuses a whole
    result that holds text which is not UTF-8 (see ``_read_rows``).
    """
    inbox = tables.inbox
    columns: list[Any] = [inbox.c[name] for name in _COLUMNS]
    if raw:
        columns = columns[:1] + [
            sa.cast(column, sa.LargeBinary).label(column.name) for column in columns[1:]
        ]
    return sa.select(*columns).where(tables.unprocessed())


def _read_rows(
    conn: sa.Connection, query: sa.Select[Any], raw: sa.Select[Any], params: dict[str, Any]
) -> list[intake.InboxRow]:
    """Run an inbox query; should SQLite find text that is not UTF-8, run ``raw``.

    Such a row was not stored by gammu-smsd; read raw, its text columns are
    bytes, which ``_row`` marks as a defect of that row alone.
    """
    try:
        found = conn.execute(query, params).all()
    except sa.exc.OperationalError as exc:
        if "Could not decode to UTF-8" not in str(exc.orig):
            raise
        found = conn.execute(raw, params).all()
    return [_row(values) for values in found]


def _row(values: Sequence[Any]) -> intake.InboxRow:
    try:
        row = intake.InboxRow(
            id=int(values[0]),
            received=clock.parse_db_time(values[1]),
            stored=clock.parse_db_time(values[2]),
            text_hex=values[3] or "",
            sender=values[4] or "",
            coding=values[5] or "",
            udh=values[6] or "",
            sms_class=int(values[7]) if values[7] is not None else -1,
            recipient=values[8] or "",
        )
    except (ValueError, TypeError):
        return _salvaged(values)
    if type(row.sender) is not str or type(row.text_hex) is not str:
        return _salvaged(values)  # bytes from a SQLite BLOB
    return row


# What a column that cannot be read stands in as, in a row that is rejected.
_UNREADABLE_TIME = dt.datetime(1970, 1, 1)


def _salvaged(values: Sequence[Any]) -> intake.InboxRow:
    """Read a row gammu-smsd did not write as it writes rows, naming what is wrong.

    A time that is no time (MariaDB's zero date, text in SQLite), a class that
    is no number, bytes where text belongs: the row is kept apart with its
    defects, to be rejected with them as the reason, instead of stopping the
    batch it came in.
    """
    defects: list[str] = []

    def read(index: int, convert: Any, fallback: Any) -> Any:
        value = values[index]
        try:
            if isinstance(value, bytes):  # a BLOB, or any column read raw
                value = value.decode("utf-8")
            return convert(value)
        except UnicodeDecodeError:
            defects.append(f"{_COLUMNS[index]} is not UTF-8 text")
        except (ValueError, TypeError):
            defects.append(f"{_COLUMNS[index]} {_unreadable(value)}")
        return fallback

    def text(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise TypeError(type(value).__name__)
        return value

    row = intake.InboxRow(
        id=int(values[0]),
        received=read(1, clock.parse_db_time, _UNREADABLE_TIME),
        stored=read(2, clock.parse_db_time, _UNREADABLE_TIME),
        text_hex=read(3, text, ""),
        sender=read(4, text, ""),
        coding=read(5, text, ""),
        udh=read(6, text, ""),
        sms_class=read(7, lambda value: -1 if value is None else int(value), -1),
        recipient=read(8, text, ""),
    )
    return dataclasses.replace(row, defect="; ".join(defects))


def _unreadable(value: object) -> str:
    """Say what is wrong with a column value that could not be read."""
    if value is None:
        return "is empty"
    return f"{errors.shown(value)} cannot be read"


class RowsBusy(Exception):
    """Unprocessed rows exist, but other transactions hold every one of them."""


def fetch_batch(
    conn: sa.Connection,
    tables: gammu.Tables,
    *,
    after_id: int,
    limit: int,
    partition: tuple[int, int] = (0, 1),
    lock: bool = False,
) -> list[intake.InboxRow]:
    """Return unprocessed rows above ``after_id``, oldest id first.

    With several workers, worker k of n takes the SMS of the senders whose
    hash is k modulo n (see ``_share``). With ``lock`` the rows are claimed:
    locked until the transaction ends, skipping rows another transaction
    claimed.
    """
    if lock and conn.dialect.name == "mysql":
        return _claim_by_id(conn, tables, after_id, limit, partition)
    dialect = conn.dialect.name
    return _read_rows(
        conn,
        _fetching(tables, partition, dialect, lock),
        _fetching(tables, partition, dialect, lock, raw=True),
        {"after": after_id, "limit": limit},
    )


@functools.cache
def _fetching(
    tables: gammu.Tables, partition: tuple[int, int], dialect: str, lock: bool,
    raw: bool = False,
) -> sa.Select[Any]:
    """Build a worker's batch query once: it runs on every poll."""
    query = _batch(tables, _select(tables, raw), partition, dialect)
    return query.with_for_update(skip_locked=True) if lock else query


def _batch(
    tables: gammu.Tables, query: sa.Select[Any], partition: tuple[int, int], dialect: str
) -> sa.Select[Any]:
    """Add the share, and the bounds "after" and "limit" as parameters."""
    inbox = tables.inbox
    query = query.where(inbox.c.ID > sa.bindparam("after"))
    index, count = partition
    if count > 1:
        query = query.where(_share(inbox, index, count, dialect))
    return query.order_by(inbox.c.ID).limit(sa.bindparam("limit", type_=sa.Integer))


def _share(inbox: sa.Table, index: int, count: int, dialect: str) -> Any:
    """Select worker ``index`` of ``count``'s share of the inbox.

    The share is a hash of the sender: every SMS of one number goes to one
    worker, which handles them in the order they were stored, so a complaint
    is open before its follow-up is read, and per-number limits and the parts
    of a long SMS are decided in one place. On SQLite too, although its
    workers write one at a time: a worker decides a batch before it takes the
    write lock, and two workers deciding one number's SMS side by side would
    each see no complaint yet.
    """
    if dialect == "postgresql":
        # bigint first: abs() of the lowest int4 hashtext can return is an error.
        hashed = sa.cast(sa.func.hashtext(inbox.c.SenderNumber), sa.BigInteger)
        return sa.func.abs(hashed) % count == index
    if dialect == "mysql":
        return sa.func.crc32(inbox.c.SenderNumber) % count == index
    number = sa.cast(inbox.c.SenderNumber, sa.LargeBinary)  # see db_engine.sender_share
    return getattr(sa.func, db_engine.SHARE_FUNCTION)(number, count) == index


def waiting(tables: gammu.Tables, partition: tuple[int, int], dialect: str) -> sa.Select[Any]:
    """Select one unprocessed row of a worker's share, if there is any."""
    inbox = tables.inbox
    query = sa.select(sa.literal(1)).select_from(inbox).where(tables.unprocessed())
    index, count = partition
    if count > 1:
        query = query.where(_share(inbox, index, count, dialect))
    return query.limit(1)


def _claim_by_id(
    conn: sa.Connection,
    tables: gammu.Tables,
    after_id: int,
    limit: int,
    partition: tuple[int, int],
) -> list[intake.InboxRow]:
    """Find rows without locking, then lock exactly those by primary key.

    InnoDB locks every index record a locking read examines, also the rows
    its WHERE then rejects (READ COMMITTED releases those a moment later).
    One worker's scan past the other workers' rows would make their SKIP
    LOCKED skip rows nobody claimed. A lookup by id examines only its rows.
    Candidates all claimed elsewhere are passed over for the next ones.
    """
    inbox = tables.inbox
    find = _batch(tables, sa.select(inbox.c.ID).where(tables.unprocessed()), partition,
                  conn.dialect.name)
    passed_over = False
    while True:
        ids = list(conn.execute(find, {"after": after_id, "limit": limit}).scalars())
        if not ids:
            if passed_over:
                # Rows are there but locked right now: not an empty inbox.
                raise RowsBusy(f"unprocessed rows above {after_id} are locked")
            return []
        claimed = [_row(values) for values in conn.execute(_claiming(tables), {"ids": ids})]
        if claimed:
            return claimed
        passed_over = True
        after_id = ids[-1]


@functools.cache
def _claiming(tables: gammu.Tables) -> sa.Select[Any]:
    """Lock the given unprocessed rows by primary key, skipping locked ones."""
    inbox = tables.inbox
    # Forced onto the primary key: with a small or freshly analysed table the
    # optimizer may pick a scan instead, which locks rows it rejects.
    return (
        _select(tables)
        .with_hint(inbox, "FORCE INDEX (PRIMARY)", "mysql")
        .where(inbox.c.ID.in_(sa.bindparam("ids", expanding=True)))
        .order_by(inbox.c.ID)
        .with_for_update(skip_locked=True)
    )


def fetch_parts(
    conn: sa.Connection, tables: gammu.Tables, senders: Iterable[str]
) -> list[intake.InboxRow]:
    """Return every unprocessed concatenated-SMS part from the given senders."""
    senders = sorted(set(senders))
    if not senders:
        return []
    inbox = tables.inbox
    of_senders = inbox.c.SenderNumber.in_(sa.bindparam("senders", expanding=True))
    query, raw = (
        _select(tables, raw).where(inbox.c.UDH != "", of_senders).order_by(inbox.c.ID)
        for raw in (False, True)
    )
    return _read_rows(conn, query, raw, {"senders": senders})


def database_now(conn: sa.Connection) -> dt.datetime:
    """Return the database's clock in the zone its column defaults use."""
    expression = {
        "sqlite": "SELECT datetime('now')",
        "postgresql": "SELECT LOCALTIMESTAMP(0)",
        "mysql": "SELECT NOW()",
    }[conn.dialect.name]
    return clock.parse_db_time(conn.execute(sa.text(expression)).scalar())


def database_offset(conn: sa.Connection) -> dt.timedelta:
    """Return how far the clock of gammu's column defaults is ahead of UTC.

    SQLite's is UTC; a server's is its session time zone, which surgad does
    not set.
    """
    return clock.offset_from_utc(database_now(conn), clock.utc_now())


_KNOWN = sa.select(_outcome.c.dedup_key, _outcome.c.inbox_id).where(
    bulk.OneOf(_outcome.c.dedup_key, "keys")
)


def known_keys(conn: sa.Connection, keys: Iterable[str]) -> dict[str, int]:
    """Return the inbox id already holding each of the given SMS fingerprints."""
    found: dict[str, int] = {}
    for chunk in bulk.in_lists(conn, keys):
        found.update({key: inbox_id for key, inbox_id in conn.execute(_KNOWN, {"keys": chunk})})
    return found


def mark_processed(
    conn: sa.Connection, tables: gammu.Tables, ids: Sequence[int]
) -> int:
    """Mark rows processed if nobody did yet; return how many this call marked."""
    marked = 0
    for chunk in bulk.in_lists(conn, ids):
        marked += conn.execute(_marking(tables), {"ids": chunk}).rowcount
    return marked


@functools.cache
def _marking(tables: gammu.Tables) -> sa.Update:
    inbox = tables.inbox
    return (
        sa.update(inbox)
        .where(bulk.OneOf(inbox.c.ID, "ids"), tables.unprocessed())
        .values(Processed=tables.processed_true)
    )


# The columns of an outcome row, in the order ``outcome`` gives them.
OUTCOME_COLUMNS = (
    "inbox_id", "outcome", "complaint_id", "reason", "dedup_key", "duplicate_of", "handled_at",
)


def outcome(
    inbox_id: int,
    kind: str,
    now: dt.datetime,
    key: str | None,
    reason: str | None = None,
    complaint_id: int | None = None,
    duplicate_of: int | None = None,
) -> tuple[Any, ...]:
    """Return the outcome row of one inbox row, for ``record_outcomes``."""
    return (inbox_id, kind, complaint_id, reason, key, duplicate_of, now)


def record_outcomes(conn: sa.Connection, outcomes: Sequence[tuple[Any, ...]]) -> None:
    """Insert one outcome row per handled inbox row (rows made by ``outcome``)."""
    bulk.insert_values(conn, _outcome, OUTCOME_COLUMNS, outcomes)


def unaccounted(conn: sa.Connection, tables: gammu.Tables) -> int:
    """Count processed inbox rows that have no outcome (should always be 0)."""
    inbox = tables.inbox
    query = (
        sa.select(sa.func.count())
        .select_from(inbox.outerjoin(_outcome, _outcome.c.inbox_id == inbox.c.ID))
        .where(tables.processed(), _outcome.c.inbox_id.is_(None))
    )
    return int(conn.execute(query).scalar_one())


def pending(conn: sa.Connection, tables: gammu.Tables) -> int:
    """Count inbox rows not yet processed (held parts included)."""
    query = (
        sa.select(sa.func.count()).select_from(tables.inbox).where(tables.unprocessed())
    )
    return int(conn.execute(query).scalar_one())


def outcome_counts(conn: sa.Connection) -> dict[str, int]:
    """Count inbox outcomes by kind."""
    query = sa.select(_outcome.c.outcome, sa.func.count()).group_by(_outcome.c.outcome)
    return {outcome: int(count) for outcome, count in conn.execute(query)}


def recent_time_pairs(
    conn: sa.Connection, tables: gammu.Tables, limit: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Return (ReceivingDateTime, UpdatedInDB) of the newest unprocessed rows.

    Only unprocessed rows: marking a row processed moves its UpdatedInDB.
    Rows whose times cannot be read are left out: a worker rejects them.
    """
    inbox = tables.inbox
    columns: list[Any] = [inbox.c.ReceivingDateTime, inbox.c.UpdatedInDB]
    if conn.dialect.name == "sqlite":
        # As bytes: one row holding text that is not UTF-8 would fail the query.
        columns = [sa.cast(column, sa.LargeBinary) for column in columns]
    query = (
        sa.select(*columns)
        .where(tables.unprocessed())
        .order_by(inbox.c.ID.desc())
        .limit(limit)
    )
    pairs = []
    for received, stored in conn.execute(query):
        try:
            pairs.append((_time(received), _time(stored)))
        except (ValueError, UnicodeDecodeError):
            continue
    return pairs


def _time(value: object) -> dt.datetime:
    """Read a time column, which SQLite may hand over as bytes (see recent_time_pairs)."""
    return clock.parse_db_time(value.decode("utf-8") if isinstance(value, bytes) else value)
