"""Run the complaint line on real input: gammu-smsd, dummy phone, SQLite, surgad.

Feeds every message of the labelled CSV in as SMS from a few dozen citizens
(long ones as real concatenated SMS, some parts delayed), plus operator promos
and a duplicated SMS; lets short deadlines expire so the watchdog escalates;
resolves a few complaints from the CLI; stops everything and prints what
gammu-smsd actually sent. Exits non-zero if any inbox row is unaccounted for.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from surgad import codec, dummyphone, phone, tickets
from surgad import config as surgad_config

REPO = Path(__file__).resolve().parents[1]
TZ = "Asia/Jakarta"
SHORT_DEADLINE_UNITS = ("DISHUB", "PDAM", "BPBD", "DKPP")
SHORT_DEADLINE_HOURS = 25 / 3600
CITIZENS = 40


def main() -> int:
    args = _arguments()
    work = args.workdir.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    rows = _read_csv(args.csv)
    config = _write_config(work)
    db_path = work / "smsd.db"
    engine = sa.create_engine(f"sqlite:///{db_path}")
    _surgad(config, "db", "init")
    started = time.monotonic()
    smsd = dummyphone.GammuSmsd.in_directory(
        work / "gammu",
        dummyphone.DbTarget.sqlite(db_path),
        tz=TZ,
        loop_sleep=0,  # the dummy phone sends instantly: one SMS per pass, no pause
        extra={"MultipartTimeout": "3"},
    )
    smsd.start()
    daemon = _start_daemon(config, work / "surgad.log")
    try:
        expected = _feed(smsd.device_dir, rows)
        _say(f"fed {expected} SMS parts into the dummy phone")
        _wait(lambda: _settled(engine) >= expected, 240, "surgad to settle every row")
        resolved = _resolve_some(config, engine)
        exchange = _converse(smsd.device_dir, config, engine)
        _wait(lambda: _escalations_due(engine) == 0, 120, "the watchdog")
        _wait(lambda: _queued(engine) == 0, 240, "gammu-smsd to send the outbox")
    finally:
        status = _stop(daemon)
        smsd.stop()
    summary = _summary(
        config, engine, rows, resolved, status, time.monotonic() - started
    )
    _show_exchange(engine, exchange)
    return 0 if summary["unaccounted"] == 0 and status == 0 else 1


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=_default_csv())
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "demo")
    return parser.parse_args()


def _default_csv() -> Path:
    shared = REPO.parent / "shared" / "data" / "complaints-dev.csv"
    return shared if shared.exists() else REPO / "tests" / "data" / "complaints-dev.csv"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write_config(work: Path) -> Path:
    """Copy the shipped config; shorten some units' deadlines so escalations happen."""
    shutil.copy(REPO / "config" / "units-kediri.toml", work / "units-kediri.toml")
    shutil.copy(REPO / "config" / "surgad.toml", work / "surgad.toml")
    deadlines = "".join(
        f"{code} = {SHORT_DEADLINE_HOURS:.6f}\n" for code in SHORT_DEADLINE_UNITS
    )
    (work / "local.toml").write_text(
        f'[database]\nurl = "sqlite:///{work / "smsd.db"}"\n\n'
        "[service]\nwatchdog_interval = 2\nhold_window = 20\npoll_interval = 0.1\n\n"
        # The CSV's 400 unrelated complaints come from 40 numbers, ten each within
        # a minute: lift the per-number limits and the same-topic follow-up window
        # that a real citizen's ten SMS would rightly meet.
        "[limits]\ncomplaints_per_hour = 100\nreplies_per_hour = 100\n\n"
        "[conversation]\nfollowup_hours = 0\n\n"
        f"[deadlines]\n{deadlines}",
        encoding="utf-8",
    )
    return work / "local.toml"


def _surgad(config: Path, *args: str) -> str:
    base = [
        sys.executable,
        "-m",
        "surgad",
        "--config",
        str(config.with_name("surgad.toml")),
        "--config",
        str(config),
    ]
    result = subprocess.run([*base, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"surgad {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "surgad",
            "--config",
            str(config.with_name("surgad.toml")),
            "--config",
            str(config),
            "run",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _feed(device: Path, rows: list[dict[str, str]]) -> int:
    """Deliver every CSV message, promos and a duplicate; return inbox rows expected."""
    rng = random.Random(2026)
    now = dt.datetime.now(dt.UTC)
    expected = 0
    delayed: list[tuple[str, str, dt.datetime, int, list[int]]] = []
    for index, row in enumerate(rows):
        sender = _citizen(index)
        when = now - dt.timedelta(seconds=len(rows) - index)
        total = len(codec.split(row["text"], 0))
        expected += total
        if total > 1 and index % 3 == 0:
            reference = rng.randrange(256)
            dummyphone.inject_incoming(
                device,
                sender,
                row["text"],
                when=when,
                reference=reference,
                parts=list(range(2, total + 1)),
            )
            delayed.append((sender, row["text"], when, reference, [1]))
        else:
            dummyphone.inject_incoming(device, sender, row["text"], when=when)
    expected += _feed_odd_senders(device)
    expected += _feed_duplicate(device, now)
    time.sleep(5)  # the delayed first parts come in a later poll
    for sender, text, when, reference, parts in delayed:
        dummyphone.inject_incoming(
            device, sender, text, when=when, reference=reference, parts=parts
        )
    return expected


def _citizen(index: int) -> str:
    forms = ("0812{:08d}", "+62813{:07d}", "62857{:07d}", "0878-{:04d}-{:04d}")
    number = index % CITIZENS
    form = forms[number % len(forms)]
    if form.count("{") == 2:
        return form.format(3300 + number, 1000 + number)
    return form.format(40000000 + number if "08" in form[:2] else 4000000 + number)


def _feed_odd_senders(device: Path) -> int:
    promos = [
        ("TELKOMSEL", "Promo! Paket internet 25GB hanya Rp50rb. Ketik *363# sekarang."),
        ("INDOSAT", "Selamat! Anda mendapat bonus 1GB. Info: 185"),
        ("3", "Sisa pulsa Anda Rp 2.350. Masa aktif s/d 31-12-2026."),
        ("", "Saldo Anda: Rp 12.000"),
    ]
    for sender, text in promos:
        dummyphone.inject_raw(
            device, sender, text=text, sms_class=127 if not sender else -1
        )
    return len(promos)


def _feed_duplicate(device: Path, now: dt.datetime) -> int:
    """gammu storing one SMS three times, as when the SIM cannot delete it."""
    text = "got mampet di jl brawijaya gg 5 kel kemasan, air meluber ke jalan"
    parts = dummyphone.build_incoming("081299887766", text, when=now)
    dummyphone.simulate_duplicate(device, parts, copies=3, timeout=30)
    return 3


def _settled(engine: sa.Engine) -> int:
    return _scalar(engine, "SELECT COUNT(*) FROM surgad_inbox_outcome")


def _queued(engine: sa.Engine) -> int:
    return _scalar(engine, "SELECT COUNT(*) FROM outbox")


def _escalations_due(engine: sa.Engine) -> int:
    return _scalar(
        engine,
        "SELECT COUNT(*) FROM surgad_complaint WHERE escalate_at IS NOT NULL "
        f"AND unit_code IN {SHORT_DEADLINE_UNITS!r}",
    )


def _scalar(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def _resolve_some(config: Path, engine: sa.Engine) -> list[str]:
    """Acknowledge and resolve a few complaints as staff would, from the CLI."""
    with engine.connect() as conn:
        ids = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT id FROM surgad_complaint WHERE unit_code = 'PUPR' ORDER BY id LIMIT 5"
                )
            )
        ]
    resolved = []
    for complaint_id in ids:
        ticket = tickets.encode(complaint_id)
        _surgad(config, "complaints", "ack", ticket)
        _surgad(
            config,
            "complaints",
            "resolve",
            ticket,
            "--note",
            "Sudah ditinjau dan diperbaiki tim lapangan",
        )
        resolved.append(ticket)
    return resolved


def _converse(device: Path, config: Path, engine: sa.Engine) -> list[str]:
    """A unit head accepts and resolves by SMS; a citizen asks for status."""
    head = _settings(config).units["DLHKP"].heads[0]
    with engine.connect() as conn:
        picked = list(conn.execute(sa.text(
            "SELECT id, citizen FROM surgad_complaint WHERE unit_code = 'DLHKP' "
            "AND status = 'open' ORDER BY id LIMIT 3")))
    (first, _), (second, _), (third, citizen) = picked
    before = _settled(engine)
    sms = [
        (head, f"TERIMA {tickets.encode(first)}"),
        (head, f"selesai #{tickets.encode(second)} sampah sudah diangkut truk DLHKP pagi ini"),
        (citizen, f"cek {tickets.encode(third)}"),
        (citizen, "INFO"),
    ]
    for number, text in sms:
        dummyphone.inject_incoming(device, number, text)
        _say(f"  SMS in  {number}: {text}")
    _wait(lambda: _settled(engine) >= before + len(sms), 60, "the conversation SMS")
    return [head, citizen]


def _show_exchange(engine: sa.Engine, numbers: list[str]) -> None:
    """Print the replies gammu-smsd sent in the conversation part of the demo."""
    _say("  conversation replies (from sentitems):")
    with engine.connect() as conn:
        for number in numbers:
            rows = conn.execute(sa.text(
                "SELECT TextDecoded, CreatorID FROM sentitems WHERE DestinationNumber = :n "
                "AND SequencePosition = 1 AND CreatorID NOT LIKE 'surgad/forward/%' "
                "AND CreatorID NOT LIKE 'surgad/ack/%' ORDER BY ID"), {"n": number})
            for text, creator in rows:
                _say(f"    -> {number} [{creator.split('/')[1]}] {text[:150]}")


def _stop(daemon: subprocess.Popen[bytes]) -> int:
    daemon.send_signal(signal.SIGTERM)
    return daemon.wait(timeout=60)


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: timed out waiting for {what}")
        time.sleep(0.5)


def _accuracy(
    engine: sa.Engine, rows: list[dict[str, str]]
) -> tuple[int, int, Counter[str]]:
    """Compare the unit each CSV message reached with its label."""
    with engine.connect() as conn:
        routed = {
            (citizen, text): unit
            for citizen, text, unit in conn.execute(
                sa.text("SELECT citizen, text, unit_code FROM surgad_complaint")
            )
        }
    right = 0
    misses: Counter[str] = Counter()
    for index, row in enumerate(rows):
        text = re.sub(r"^\s*\d{16}\s*#[^#]*#\s*", "", row["text"]).strip()
        got = routed.get((phone.normalise(_citizen(index)), text), "NONE")
        if got == row["department"]:
            right += 1
        else:
            misses[f"{row['department']}->{got}"] += 1
    return right, len(rows), misses


def _summary(
    config: Path,
    engine: sa.Engine,
    rows: list[dict[str, str]],
    resolved: list[str],
    status: int,
    seconds: float,
) -> dict[str, Any]:
    figures = json.loads(_surgad(config, "stats", "--json"))
    right, total, misses = _accuracy(engine, rows)
    sent = figures["sent"]
    _say("")
    _say("surgad demo: summary")
    _say(f"  SMS rows received by gammu-smsd: {figures['inbox_rows']}")
    _say(f"  inbox outcomes: {json.dumps(figures['outcomes'], sort_keys=True)}")
    _say("  complaints per unit:")
    for unit, count in sorted(figures["complaints_per_unit"].items()):
        _say(f"    {unit:<9} {count}")
    _say("  sent by gammu-smsd (sentitems):")
    for kind in ("ack", "forward", "escalation", "resolution", "referral", "accepted",
                 "status", "help", "staff"):
        _say(f"    {kind:<11} {sent.get(kind, 0)}")
    complaint_ids, acked = _acknowledgements(engine)
    _say(acknowledgement_line(complaint_ids, acked, _settings(config).replies_per_hour))
    _say(f"  resolved from the CLI: {', '.join(resolved)}")
    _say(
        f"  classification accuracy vs CSV labels: {right}/{total} = {right / total:.1%}"
    )
    _say(f"  most common misroutes: {dict(misses.most_common(6))}")
    unaccounted = figures["unaccounted"] + figures["pending"]
    figures["unaccounted"] = unaccounted
    _say(f"  daemon exit status after SIGTERM: {status}")
    _say(f"  inbox rows not accounted for: {unaccounted}")
    _say(f"  demo run time: {seconds:.0f} s")
    return figures


def _acknowledgements(engine: sa.Engine) -> tuple[list[int], set[str]]:
    """Return every complaint id, and the CreatorIDs of the acknowledgements sent."""
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM surgad_complaint"))]
        creators = conn.execute(sa.text(
            "SELECT CreatorID FROM sentitems WHERE CreatorID LIKE 'surgad/ack/%' "
            "AND SequencePosition = 1"))
        return ids, {row[0] for row in creators}


def acknowledgement_line(complaint_ids: list[int], acked: set[str], limit: int) -> str:
    """Say how many complaints got no acknowledgement, and why.

    A complaint always reaches its unit, but its acknowledgement is an automatic
    reply, and a number gets at most ``limit`` of those an hour.
    """
    missing = sum(
        1 for complaint_id in complaint_ids
        if f"surgad/ack/{tickets.encode(complaint_id)}" not in acked
    )
    return (
        f"  complaints without acknowledgement: {missing} of {len(complaint_ids)} "
        f"(a number gets at most {limit} automatic replies an hour: limits.replies_per_hour)"
    )


def _settings(config: Path) -> surgad_config.Settings:
    return surgad_config.load([config.with_name("surgad.toml"), config])


def _say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
