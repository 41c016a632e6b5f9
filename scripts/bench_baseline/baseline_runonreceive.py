"""Handle one SMS the way gammu-smsd ``RunOnReceive`` deployments do.

gammu-smsd can run a program after it stores an SMS, with the inbox row id as
argument; many deployments point it at a script like this one. It starts a
fresh interpreter, reads its row, loads the unit file and builds the same
classifier surgad uses, writes the complaint, the acknowledgement and the
forwards to the unit heads, marks the row processed and exits. There is no
batching, no duplicate check and no concatenated-SMS handling: this is the
baseline the benchmark compares surgad with.

Usage: BENCH_DB=<url> python baseline_runonreceive.py INBOX_ID
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
from pathlib import Path
from typing import Any

import plain_db

from surgad import classifier

UNITS_FILE = Path(__file__).resolve().parents[2] / "config" / "units-kediri.toml"
TRIAGE_THRESHOLD = 0.3
ZONE_OFFSET = dt.timedelta(hours=7)  # gammu-smsd stores Asia/Jakarta time


def main(inbox_id: int) -> int:
    db = plain_db.connect()
    not_done, done = db.processed
    row = db.execute(
        'SELECT "SenderNumber", "TextDecoded", "ReceivingDateTime" FROM inbox '
        'WHERE "ID" = %s AND "Processed" = %s',
        (inbox_id, not_done),
    ).fetchone()
    if row is None:
        return 0
    sender, text, received = row

    with UNITS_FILE.open("rb") as handle:
        units = tomllib.load(handle)
    found = classifier.Classifier.from_config(units).classify(text)

    db.begin_write()
    if found.code is not None:
        save_complaint(db, units, inbox_id, sender, text, received, found)
    db.execute('UPDATE inbox SET "Processed" = %s WHERE "ID" = %s', (done, inbox_id))
    db.commit()
    db.close()
    return 0


def save_complaint(
    db: plain_db.Db,
    units: dict[str, Any],
    inbox_id: int,
    sender: str,
    text: str,
    received: Any,
    found: Any,
) -> None:
    code = found.code
    if found.confidence < TRIAGE_THRESHOLD or code not in units["units"]:
        code = units["triage_unit"]
    unit = units["units"][code]
    if isinstance(received, str):
        received = dt.datetime.fromisoformat(received)
    received_utc = received - ZONE_OFFSET
    deadline = received_utc + dt.timedelta(hours=unit["deadline_hours"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    complaint_id = db.execute(
        "INSERT INTO surgad_complaint (citizen, text, unit_code, confidence, "
        "kelurahan, incomplete, status, received_at, created_at, deadline_at, "
        "escalate_at, inbox_id) VALUES (%s, %s, %s, %s, %s, %s, 'open', %s, %s, %s, "
        "%s, %s) RETURNING id",
        (
            sender,
            text,
            code,
            found.confidence,
            found.kelurahan,
            False,
            db.time(received_utc),
            db.time(now),
            db.time(deadline),
            db.time(deadline),
            inbox_id,
        ),
    ).fetchone()[0]

    ack = (
        f"SURGA: Aduan Anda diterima, no tiket {complaint_id}, diteruskan ke "
        f"{unit.get('short', unit['name'])}."
    )
    forward = f"SURGA #{complaint_id}: {text} (dari {sender})"
    messages = [(sender, ack, f"baseline/ack/{complaint_id}")]
    creator = f"baseline/forward/{complaint_id}"
    messages += [(head, forward, creator) for head in unit["heads"]]
    db.executemany(
        'INSERT INTO outbox ("DestinationNumber", "TextDecoded", "Coding", "CreatorID") '
        "VALUES (%s, %s, 'Default_No_Compression', %s)",
        messages,
    )


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
