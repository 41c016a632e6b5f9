"""Set up one database for the benchmark: create, init, preload, instrument.

A target is one database of one kind (SQLite file, PostgreSQL or MariaDB
database of its own) with a surgad config pointing at it. It is created empty,
``surgad db init`` (the real CLI) creates gammu's and surgad's schemas, and a
year of history is preloaded in bulk with server-side SQL: processed inbox
rows, their outcome rows and one complaint each, 5 % of them still open.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import inject
import plain_db

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPO / "config" / "surgad.toml"
BENCH_DATABASE = "surgad_bench"
HISTORY_PREFIX = "+62856"
LATENCY_PREFIX = "+62858"
OPEN_EVERY = 20  # one complaint in 20 is still open: 5 %
HISTORY_DAYS = 365


@dataclasses.dataclass
class Target:
    """One database under test and the surgad config that points at it."""

    kind: str  # sqlite, postgresql, mysql
    plain_url: str  # for plain_db and the comparison programs
    surgad_url: str  # SQLAlchemy URL for surgad
    workdir: Path

    @property
    def local_config(self) -> Path:
        return self.workdir / "local.toml"

    @property
    def configs(self) -> list[Path]:
        return [SHIPPED_CONFIG, self.local_config]

    def connect(self, autocommit: bool = True) -> plain_db.Db:
        return plain_db.connect(self.plain_url, autocommit=autocommit)

    def env(self) -> dict[str, str]:
        """Return the environment the comparison programs need."""
        return dict(os.environ, **{plain_db.ENV_VAR: self.plain_url})

    @property
    def sqlite_path(self) -> Path:
        return self.workdir / "smsd.db"


def make(kind: str, workdir: Path, server_urls: dict[str, str]) -> Target:
    """Return the target of ``kind``; server URLs name host, port and user."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        path = workdir / "smsd.db"
        return Target(kind, f"sqlite:///{path}", f"sqlite:///{path}", workdir)
    base = server_urls[kind].rstrip("/")
    driver = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+mysqldb"}[kind]
    surgad = base.replace(f"{kind}://", f"{driver}://", 1) + f"/{BENCH_DATABASE}"
    if kind == "mysql":
        surgad += "?charset=utf8mb4"
    return Target(kind, f"{base}/{BENCH_DATABASE}", surgad, workdir)


def create(target: Target, server_urls: dict[str, str]) -> None:
    """Start from an empty database of the benchmark's own."""
    if target.kind == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{target.sqlite_path}{suffix}").unlink(missing_ok=True)
    else:
        admin_db = "postgres" if target.kind == "postgresql" else "mysql"
        admin = plain_db.connect(f"{server_urls[target.kind]}/{admin_db}", True)
        # FORCE: a run that was interrupted may have left connections behind.
        force = " WITH (FORCE)" if target.kind == "postgresql" else ""
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}{force}")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        admin.close()
    target.local_config.write_text(
        f'[database]\nurl = "{target.surgad_url}"\n', encoding="utf-8"
    )


def surgad_cli(target: Target, *args: str, timeout: float = 600) -> str:
    """Run the surgad CLI on this target; raise RuntimeError with its stderr."""
    command = [sys.executable, "-m", "surgad"]
    for path in target.configs:
        command += ["--config", str(path)]
    result = subprocess.run(
        [*command, "--log-level", "warning", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit {result.returncode}")
    return result.stdout


# --- preload --------------------------------------------------------------


def preload(target: Target, rows: int, texts: Sequence[Sequence[str]]) -> None:
    """Insert ``rows`` processed inbox rows, their outcomes and complaints."""
    db = target.connect(autocommit=False)
    if db.kind == "sqlite":
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")
    _text_table(db, texts)
    db.begin_write()
    step = HISTORY_DAYS * 86400 / rows
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    start -= dt.timedelta(days=HISTORY_DAYS)
    params = {"n": rows, "step": step, "t0": start, "k": len(texts)}
    for statement in _PRELOAD[db.kind]:
        db.execute(*_bind(db, statement, params))
    if db.kind == "postgresql":
        for table, column in (("inbox", "ID"), ("surgad_complaint", "id")):
            db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f'(SELECT MAX("{column}") FROM {table}))'
            )
    db.commit()
    db.execute("DROP TABLE bench_text")
    db.commit()
    analyze(db)
    db.close()


def analyze(db: plain_db.Db) -> None:
    """Refresh the planner's statistics, as a long-running database has them."""
    if db.kind == "sqlite":
        db.execute("ANALYZE")
    elif db.kind == "postgresql":
        db.conn.commit()
        db.conn.autocommit = True
        db.execute("ANALYZE")
        db.conn.autocommit = False
    else:
        for table in ("inbox", "surgad_complaint", "surgad_inbox_outcome", "outbox"):
            db.execute(f"ANALYZE TABLE {table}").fetchall()
    db.commit()


def _text_table(db: plain_db.Db, texts: Sequence[Sequence[str]]) -> None:
    db.execute(
        "CREATE TABLE bench_text (k INTEGER PRIMARY KEY, body TEXT, hex TEXT, "
        "coding VARCHAR(32), unit VARCHAR(16))"
    )
    db.executemany(
        "INSERT INTO bench_text VALUES (%s, %s, %s, %s, %s)",
        [
            (k, text, text.encode("utf-16-be").hex().upper(), coding, unit)
            for k, (text, coding, unit) in enumerate(texts)
        ],
    )
    db.commit()


_MARKER = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def _bind(
    db: plain_db.Db, statement: str, params: dict[str, Any]
) -> tuple[str, list[Any]]:
    """Turn :name markers into driver markers; return (sql, values)."""
    values: list[Any] = []

    def _mark(match: re.Match[str]) -> str:
        value = params[match.group(1)]
        values.append(db.time(value) if isinstance(value, dt.datetime) else value)
        return "%s"

    sql = _MARKER.sub(_mark, statement.replace("{n}", str(int(params["n"]))))
    return sql, values


_INBOX_COLUMNS = (
    '"ID", "UpdatedInDB", "ReceivingDateTime", "Text", "SenderNumber", "Coding", '
    '"UDH", "SMSCNumber", "Class", "TextDecoded", "RecipientID", "Processed"'
)
_COMPLAINT_COLUMNS = (
    "id, citizen, text, unit_code, confidence, incomplete, status, received_at, "
    "created_at, deadline_at, escalate_at, escalated_at, acked_at, resolved_at, "
    "resolution_note, inbox_id"
)
_OUTCOME_COLUMNS = "inbox_id, outcome, complaint_id, dedup_key, handled_at"

# Row i of n arrives at t0 + i * step (UTC); its deadline is 24 h later. An
# open complaint past its deadline was escalated already; a newer one still
# waits in the escalation index. SQLite keeps times as ISO text.
_SQLITE_SEQ = (
    "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n) "
)
_SQLITE_TIMES = (
    "SELECT i, datetime(:t0, '+' || (i * :step) || ' seconds') AS created, "
    "datetime(:t0, '+' || (i * :step + 86400) || ' seconds') AS deadline, "
    "datetime(:t0, '+' || (i * :step + 25195) || ' seconds') AS received_local "
    "FROM seq"
)
_PRELOAD: dict[str, list[str]] = {
    "sqlite": [
        _SQLITE_SEQ
        + f"INSERT INTO inbox ({_INBOX_COLUMNS}) SELECT i, created, received_local, "
        "t.hex, '+62856' || printf('%08d', i), t.coding, '', '+6281100000', -1, "
        "t.body, 'dummy', 'true' "
        f"FROM ({_SQLITE_TIMES}) JOIN bench_text t ON t.k = i % :k",
        _SQLITE_SEQ + f"INSERT INTO surgad_complaint ({_COMPLAINT_COLUMNS}) SELECT i, "
        "'+62856' || printf('%08d', i), t.body, t.unit, 0.6, 0, "
        f"CASE WHEN i % {OPEN_EVERY} = 0 THEN 'open' ELSE 'resolved' END, "
        "created, created, deadline, "
        f"CASE WHEN i % {OPEN_EVERY} = 0 AND deadline > datetime('now') "
        "THEN deadline END, "
        f"CASE WHEN i % {OPEN_EVERY} = 0 AND deadline <= datetime('now') "
        "THEN deadline END, "
        f"CASE WHEN i % {OPEN_EVERY} <> 0 THEN deadline END, "
        f"CASE WHEN i % {OPEN_EVERY} <> 0 THEN deadline END, "
        f"CASE WHEN i % {OPEN_EVERY} <> 0 THEN 'selesai' END, i "
        f"FROM ({_SQLITE_TIMES}) JOIN bench_text t ON t.k = i % :k",
        _SQLITE_SEQ
        + f"INSERT INTO surgad_inbox_outcome ({_OUTCOME_COLUMNS}) SELECT i, "
        "'complaint', i, printf('%040x', i), created "
        f"FROM ({_SQLITE_TIMES})",
    ],
    "postgresql": [
        f"INSERT INTO inbox ({_INBOX_COLUMNS}) SELECT i, created, "
        "created + interval '25195 seconds', t.hex, '+62856' || lpad(i::text, 8, '0'), "
        "t.coding, '', '+6281100000', -1, t.body, 'dummy', true "
        "FROM (SELECT i, :t0::timestamp + i * :step * interval '1 second' AS created "
        "FROM generate_series(1, :n) AS s(i)) AS x JOIN bench_text t ON t.k = mod(i, :k)",
        f"INSERT INTO surgad_complaint ({_COMPLAINT_COLUMNS}) SELECT i, "
        "'+62856' || lpad(i::text, 8, '0'), t.body, t.unit, 0.6, false, "
        f"CASE WHEN mod(i, {OPEN_EVERY}) = 0 THEN 'open' ELSE 'resolved' END, "
        "created, created, deadline, "
        f"CASE WHEN mod(i, {OPEN_EVERY}) = 0 AND deadline > LOCALTIMESTAMP "
        "THEN deadline END, "
        f"CASE WHEN mod(i, {OPEN_EVERY}) = 0 AND deadline <= LOCALTIMESTAMP "
        "THEN deadline END, "
        f"CASE WHEN mod(i, {OPEN_EVERY}) <> 0 THEN deadline END, "
        f"CASE WHEN mod(i, {OPEN_EVERY}) <> 0 THEN deadline END, "
        f"CASE WHEN mod(i, {OPEN_EVERY}) <> 0 THEN 'selesai' END, i "
        "FROM (SELECT i, :t0::timestamp + i * :step * interval '1 second' AS created, "
        ":t0::timestamp + (i * :step + 86400) * interval '1 second' AS deadline "
        "FROM generate_series(1, :n) AS s(i)) AS x JOIN bench_text t ON t.k = mod(i, :k)",
        f"INSERT INTO surgad_inbox_outcome ({_OUTCOME_COLUMNS}) SELECT i, "
        "'complaint', i, lpad(to_hex(i), 40, '0'), "
        ":t0::timestamp + i * :step * interval '1 second' "
        "FROM generate_series(1, :n) AS s(i)",
    ],
    "mysql": [
        f"INSERT INTO inbox ({_INBOX_COLUMNS}) SELECT seq, created, "
        "created + INTERVAL 25195 SECOND, t.hex, CONCAT('+62856', LPAD(seq, 8, '0')), "
        "t.coding, '', '+6281100000', -1, t.body, 'dummy', 'true' "
        "FROM (SELECT seq, :t0 + INTERVAL FLOOR(seq * :step) SECOND AS created "
        "FROM seq_1_to_{n}) AS x JOIN bench_text t ON t.k = seq MOD :k",
        f"INSERT INTO surgad_complaint ({_COMPLAINT_COLUMNS}) SELECT seq, "
        "CONCAT('+62856', LPAD(seq, 8, '0')), t.body, t.unit, 0.6, 0, "
        f"CASE WHEN seq MOD {OPEN_EVERY} = 0 THEN 'open' ELSE 'resolved' END, "
        "created, created, deadline, "
        f"CASE WHEN seq MOD {OPEN_EVERY} = 0 AND deadline > UTC_TIMESTAMP() "
        "THEN deadline END, "
        f"CASE WHEN seq MOD {OPEN_EVERY} = 0 AND deadline <= UTC_TIMESTAMP() "
        "THEN deadline END, "
        f"CASE WHEN seq MOD {OPEN_EVERY} <> 0 THEN deadline END, "
        f"CASE WHEN seq MOD {OPEN_EVERY} <> 0 THEN deadline END, "
        f"CASE WHEN seq MOD {OPEN_EVERY} <> 0 THEN 'selesai' END, seq "
        "FROM (SELECT seq, :t0 + INTERVAL FLOOR(seq * :step) SECOND AS created, "
        ":t0 + INTERVAL FLOOR(seq * :step + 86400) SECOND AS deadline "
        "FROM seq_1_to_{n}) AS x JOIN bench_text t ON t.k = seq MOD :k",
        f"INSERT INTO surgad_inbox_outcome ({_OUTCOME_COLUMNS}) SELECT seq, "
        "'complaint', seq, LPAD(HEX(seq), 40, '0'), "
        ":t0 + INTERVAL FLOOR(seq * :step) SECOND FROM seq_1_to_{n}",
    ],
}


# --- load and instruments ---------------------------------------------------


def insert_backlog(
    target: Target, prefix: str, first: int, count: int, texts: Sequence[Sequence[str]]
) -> tuple[int, int]:
    """Insert ``count`` unprocessed SMS at once; return their (lowest, highest) id."""
    db = target.connect(autocommit=False)
    template = inject.INSERT.split(" VALUES ", 1)
    chunk = 1000
    db.begin_write()
    for start in range(first, first + count, chunk):
        rows = [
            inject.inbox_row(db, prefix, index, texts)
            for index in range(start, min(start + chunk, first + count))
        ]
        values = ", ".join([template[1]] * len(rows))
        db.execute(f"{template[0]} VALUES {values}", [v for row in rows for v in row])
    db.commit()
    low, high = db.execute(
        'SELECT MIN("ID"), MAX("ID") FROM inbox WHERE "SenderNumber" IN (%s, %s)',
        (inject.sender(prefix, first), inject.sender(prefix, first + count - 1)),
    ).fetchone()
    db.close()
    return int(low), int(high)


def max_complaint_id(db: plain_db.Db) -> int:
    """Return the highest complaint id (ids grow with every new complaint)."""
    value = db.execute("SELECT MAX(id) FROM surgad_complaint").fetchone()[0]
    db.commit()
    return int(value or 0)


def complaints_since(db: plain_db.Db, base_id: int) -> int:
    """Count complaints created after ``base_id``."""
    value = db.execute(
        "SELECT COUNT(*) FROM surgad_complaint WHERE id > %s", (base_id,)
    ).fetchone()[0]
    db.commit()
    return int(value)


def unprocessed_from(db: plain_db.Db, first_id: int) -> int:
    """Count unprocessed inbox rows with an id of at least ``first_id``."""
    value = db.execute(
        'SELECT COUNT(*) FROM inbox WHERE "ID" >= %s AND "Processed" = %s',
        (first_id, db.processed[0]),
    ).fetchone()[0]
    db.commit()
    return int(value)


def clear_outbox(target: Target) -> None:
    """Empty the outbox, as gammu-smsd would have sent it by now."""
    db = target.connect(autocommit=False)
    db.begin_write()
    db.execute("DELETE FROM outbox_multipart")
    db.execute("DELETE FROM outbox")
    db.commit()
    db.close()


_PROBE = {
    "sqlite": [
        "CREATE TRIGGER bench_sent_time AFTER INSERT ON outbox "
        f"WHEN NEW.\"DestinationNumber\" LIKE '{LATENCY_PREFIX}%' BEGIN "
        'INSERT INTO bench_sent VALUES (NEW."DestinationNumber", '
        "(julianday('now') - 2440587.5) * 86400.0); END",
    ],
    "postgresql": [
        "CREATE FUNCTION bench_sent_time() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF NEW.\"DestinationNumber\" LIKE '{LATENCY_PREFIX}%' THEN "
        'INSERT INTO bench_sent VALUES (NEW."DestinationNumber", '
        "extract(epoch FROM clock_timestamp())); END IF; RETURN NULL; END $$",
        "CREATE TRIGGER bench_sent_time AFTER INSERT ON outbox FOR EACH ROW "
        "EXECUTE FUNCTION bench_sent_time()",
    ],
    "mysql": [
        "CREATE TRIGGER bench_sent_time AFTER INSERT ON outbox FOR EACH ROW BEGIN "
        f"IF NEW.\"DestinationNumber\" LIKE '{LATENCY_PREFIX}%' THEN "
        'INSERT INTO bench_sent VALUES (NEW."DestinationNumber", '
        "UNIX_TIMESTAMP(SYSDATE(6))); END IF; END",
    ],
}


def add_latency_probe(target: Target) -> None:
    """Record, inside the writer's transaction, when each outbox row is inserted.

    Only rows to the latency run's senders are recorded; the trigger's clock
    is the database server's (SQLite: this process's), the machine's clock.
    """
    db = target.connect(autocommit=True)
    real = "DOUBLE PRECISION" if db.kind != "sqlite" else "REAL"
    db.execute(f"CREATE TABLE bench_sent (dest VARCHAR(32), t {real})")
    for statement in _PROBE[db.kind]:
        db.execute(statement)
    db.close()


def remove_latency_probe(target: Target) -> dict[str, float]:
    """Drop the probe; return the first outbox insert time per destination."""
    db = target.connect(autocommit=True)
    times: dict[str, float] = {}
    for dest, stamp in db.execute("SELECT dest, t FROM bench_sent").fetchall():
        times[dest] = min(float(stamp), times.get(dest, float("inf")))
    suffix = " ON outbox" if db.kind == "postgresql" else ""
    db.execute(f"DROP TRIGGER bench_sent_time{suffix}")
    if db.kind == "postgresql":
        db.execute("DROP FUNCTION bench_sent_time()")
    db.execute("DROP TABLE bench_sent")
    db.close()
    return times


def drop_inbox_indexes(target: Target) -> list[str]:
    """Drop every index surgad added to gammu's inbox; return the DDL to restore."""
    db = target.connect(autocommit=True)
    if db.kind == "sqlite":
        found = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'inbox' AND sql IS NOT NULL"
        ).fetchall()
        drops = [f"DROP INDEX {name}" for name, _ in found]
    elif db.kind == "postgresql":
        found = db.execute(
            "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE x.indrelid = 'inbox'::regclass AND NOT x.indisprimary"
        ).fetchall()
        drops = [f"DROP INDEX {name}" for name, _ in found]
    else:
        columns = db.execute(
            "SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'inbox' AND INDEX_NAME <> 'PRIMARY' GROUP BY INDEX_NAME"
        ).fetchall()
        found = [
            (name, f"CREATE INDEX {name} ON inbox ({cols})") for name, cols in columns
        ]
        drops = [f"DROP INDEX {name} ON inbox" for name, _ in found]
    for statement in drops:
        db.execute(statement)
    db.close()
    return [ddl for _, ddl in found]


def restore_indexes(target: Target, ddl: Sequence[str]) -> None:
    """Create again the indexes drop_inbox_indexes dropped."""
    db = target.connect(autocommit=True)
    for statement in ddl:
        db.execute(statement)
    db.close()
