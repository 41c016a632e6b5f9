"""Poll gammu's inbox the naive way: unindexed query, one row per transaction.

The second comparison program of the benchmark. One process, the classifier
built once, and a loop that asks for every row with ``Processed = 'false'``
(gammu's schema has no index for that, so each poll reads the whole table),
then settles the rows one transaction at a time with the same writes as
baseline_runonreceive.py. An empty poll sleeps ``--poll-interval`` seconds.

Usage: BENCH_DB=<url> python naive_poller.py [--poll-interval 0.1]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import tomllib
from types import FrameType

import baseline_runonreceive
import plain_db

from surgad import classifier

stopping = False


def on_term(_signum: int, _frame: FrameType | None) -> None:
    global stopping
    stopping = True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--poll-interval", type=float, default=0.1)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_term)

    with baseline_runonreceive.UNITS_FILE.open("rb") as handle:
        units = tomllib.load(handle)
    engine = classifier.Classifier.from_config(units)
    db = plain_db.connect()
    not_done, done = db.processed

    while not stopping:
        rows = db.execute(
            'SELECT "ID", "SenderNumber", "TextDecoded", "ReceivingDateTime" '
            'FROM inbox WHERE "Processed" = %s ORDER BY "ID"',
            (not_done,),
        ).fetchall()
        db.commit()
        if not rows:
            time.sleep(args.poll_interval)
            continue
        for inbox_id, sender, text, received in rows:
            found = engine.classify(text)
            db.begin_write()
            if found.code is not None:
                baseline_runonreceive.save_complaint(
                    db, units, inbox_id, sender, text, received, found
                )
            db.execute(
                'UPDATE inbox SET "Processed" = %s WHERE "ID" = %s', (done, inbox_id)
            )
            db.commit()
            if stopping:
                break
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
