"""Do surgad's writes in plain batched SQL, to find the database's ceiling.

No classifier, no decoding, no duplicate check: each batch claims up to
``--batch`` unprocessed rows through surgad's index and, in one transaction,
marks them processed and inserts per SMS one complaint, two outbox rows (the
acknowledgement and one forward) and one outcome row, each table with one
multi-row INSERT. Whatever surgad achieves, it cannot beat this on the same
database and machine.

Usage: BENCH_DB=<url> python raw_limit.py [--batch 500] [--until-empty]
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

import plain_db

POLL_INTERVAL = 0.1
HEAD = "+6281200000001"
DEADLINE = dt.timedelta(hours=24)
stopping = False


def on_term(_signum: int, _frame: FrameType | None) -> None:
    global stopping
    stopping = True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--until-empty", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    db = plain_db.connect()
    while not stopping:
        if settle_batch(db, args.batch):
            continue
        if args.until_empty:
            break
        time.sleep(POLL_INTERVAL)
    db.close()
    return 0


def settle_batch(db: plain_db.Db, limit: int) -> int:
    """Claim and settle one batch; return how many rows it settled."""
    not_done, done = db.processed
    lock = "" if db.kind == "sqlite" else " FOR UPDATE SKIP LOCKED"
    db.begin_write()
    rows = db.execute(
        'SELECT "ID", "SenderNumber", "TextDecoded" FROM inbox '
        f'WHERE "Processed" = %s ORDER BY "ID" LIMIT {int(limit)}{lock}',
        (not_done,),
    ).fetchall()
    if not rows:
        db.commit()
        return 0
    ids = [row[0] for row in rows]
    db.execute(
        f'UPDATE inbox SET "Processed" = %s WHERE "ID" IN ({marks(len(ids))})',
        (done, *ids),
    )
    utc_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    now, deadline = db.time(utc_now), db.time(utc_now + DEADLINE)
    complaint_ids = insert_complaints(db, rows, now, deadline)
    insert_rows(
        db,
        'outbox ("DestinationNumber", "TextDecoded", "CreatorID")',
        [
            values
            for (_, sender, text), cid in zip(rows, complaint_ids, strict=True)
            for values in ((sender, f"ack {cid}", "raw/ack"), (HEAD, text, "raw/fwd"))
        ],
    )
    insert_rows(
        db,
        "surgad_inbox_outcome (inbox_id, outcome, complaint_id, dedup_key, handled_at)",
        [
            (inbox_id, "complaint", cid, f"r{inbox_id:039d}", now)
            for inbox_id, cid in zip(ids, complaint_ids, strict=True)
        ],
    )
    db.commit()
    return len(rows)


def insert_complaints(
    db: plain_db.Db, rows: Sequence[Any], now: Any, deadline: Any
) -> list[int]:
    """Insert one open complaint per row; return the new ids in row order."""
    values = [
        (
            sender,
            text,
            "PUPR",
            1.0,
            False,
            "open",
            now,
            now,
            deadline,
            deadline,
            inbox_id,
        )
        for inbox_id, sender, text in rows
    ]
    cursor = db.execute(
        "INSERT INTO surgad_complaint (citizen, text, unit_code, confidence, "
        "incomplete, status, received_at, created_at, deadline_at, escalate_at, "
        f"inbox_id) VALUES {tuples(len(values), 11)} RETURNING id",
        [item for row in values for item in row],
    )
    return sorted(int(row[0]) for row in cursor.fetchall())


def insert_rows(db: plain_db.Db, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` into ``table (columns)`` with one multi-row INSERT."""
    width = len(rows[0])
    db.execute(
        f"INSERT INTO {table} VALUES {tuples(len(rows), width)}",
        [item for row in rows for item in row],
    )


def marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def tuples(count: int, width: int) -> str:
    row = f"({marks(width)})"
    return ", ".join([row] * count)


if __name__ == "__main__":
    sys.exit(main())
