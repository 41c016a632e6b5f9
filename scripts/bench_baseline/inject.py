"""Insert SMS into gammu's inbox at a steady rate, as gammu-smsd stores them.

The load generator of the benchmark's latency runs. Each SMS is one INSERT in
a transaction of its own, like gammu-smsd's SQL service; ``Text`` is the hex
of the UTF-16BE text and ``ReceivingDateTime`` is Asia/Jakarta time, as a
gammu-smsd with that ``TZ`` writes them. Every SMS has a sender of its own, so
its acknowledgement can be found by destination number. After each commit the
wall-clock time is recorded; the list of (sender, commit time) is written as
JSON to ``--out`` at the end.

Usage: BENCH_DB=<url> python inject.py --texts T.json --rate 100 --count 3000
       --prefix +62858 --first 0 --out times.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plain_db

JAKARTA = dt.timezone(dt.timedelta(hours=7))
INSERT = (
    'INSERT INTO inbox ("ReceivingDateTime", "Text", "SenderNumber", "Coding", '
    '"UDH", "SMSCNumber", "Class", "TextDecoded", "RecipientID") '
    "VALUES (%s, %s, %s, %s, '', '+6281100000', -1, %s, 'dummy')"
)


def sender(prefix: str, index: int) -> str:
    """Return the E.164 sender of SMS number ``index`` under ``prefix``."""
    return f"{prefix}{index:08d}"


def inbox_row(
    db: plain_db.Db, prefix: str, index: int, texts: Sequence[Sequence[str]]
) -> tuple[Any, ...]:
    """Return the parameters of INSERT for SMS number ``index``."""
    text, coding = texts[index % len(texts)][:2]
    received = dt.datetime.now(JAKARTA).replace(tzinfo=None, microsecond=0)
    hex_text = text.encode("utf-16-be").hex().upper()
    return (db.time(received), hex_text, sender(prefix, index), coding, text)


def load_texts(path: Path) -> list[list[str]]:
    """Read the [text, coding, unit] triples the benchmark chose."""
    texts: list[list[str]] = json.loads(path.read_text(encoding="utf-8"))
    return texts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    texts = load_texts(args.texts)
    db = plain_db.connect(autocommit=False)
    times: list[tuple[str, float, float]] = []
    start = time.time()
    for n in range(args.count):
        due = start + n / args.rate
        if (pause := due - time.time()) > 0:
            time.sleep(pause)
        row = inbox_row(db, args.prefix, args.first + n, texts)
        db.execute(INSERT, row)
        db.commit()
        times.append((row[2], time.time(), due))
    db.close()
    args.out.write_text(json.dumps(times), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
