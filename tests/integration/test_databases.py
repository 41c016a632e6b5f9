"""surgad on SQLite, PostgreSQL and MariaDB alike: schema, claims, wake-ups, outages."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from surgad import clock, codec, dummyphone, retry, worker
from surgad.db import bulk, complaints, gammu, inbox, notify, outbox, schema
from surgad.db import engine as db_engine
from surgad.errors import DatabaseError
from tests.integration import databases
from tests.integration.conftest import Line, cli_env, run_cli, wait_for, write_config
from tests.integration.test_crash import TEXTS, insert_like_gammu

GAMMU_EXAMPLES = Path("/usr/share/doc/gammu-smsd/examples")
EXAMPLE_FILE = {"sqlite": "sqlite.sql", "postgresql": "pgsql.sql", "mysql": "mysql.sql"}
GAMMU_TABLES = ("gammu", "inbox", "outbox", "outbox_multipart", "phones", "sentitems")
SERVERS = pytest.mark.parametrize("backend", databases.SERVER_BACKENDS)
POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"])
MYSQL = pytest.mark.parametrize("backend", ["mysql"])


@pytest.fixture
def engine(database: databases.Database) -> Iterator[sa.Engine]:
    """Return a surgad engine on the test's database, initialised like db init."""
    engine = db_engine.create(database.url_text)
    schema.init(engine)
    yield engine
    engine.dispose()


def inbox_rows(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Build inbox rows as gammu-smsd would store single SMS from distinct senders."""
    now = dt.datetime.now().replace(microsecond=0)
    return [
        {
            "ReceivingDateTime": now,
            "Text": TEXTS[i % len(TEXTS)].encode("utf-16-be").hex().upper(),
            "SenderNumber": f"+62813{4000000 + start + i:07d}",
            "Coding": "Default_No_Compression",
            "UDH": "",
            "TextDecoded": TEXTS[i % len(TEXTS)],
            "RecipientID": "dummy",
        }
        for i in range(count)
    ]


def store(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    """Insert inbox rows through ``engine`` (times as text on SQLite)."""
    if engine.dialect.name == "sqlite":
        rows = [
            row | {"ReceivingDateTime": str(row["ReceivingDateTime"])} for row in rows
        ]
    with engine.begin() as conn:
        conn.execute(sa.insert(gammu.tables(engine.dialect.name).inbox), rows)


def describe(engine: sa.Engine) -> dict[str, Any]:
    """Describe gammu's tables: columns, keys, indexes, checks, triggers."""
    inspector = sa.inspect(engine)
    found: dict[str, Any] = {}
    for table in GAMMU_TABLES:
        columns = [
            (col["name"], str(col["type"]), col["nullable"], col.get("default"))
            for col in inspector.get_columns(table)
        ]
        indexes = sorted(
            (index["name"], tuple(index["column_names"]))
            for index in inspector.get_indexes(table)
            if not str(index["name"]).startswith("surgad_")
        )
        # SQLite keeps a CHECK as written: compare it without its layout.
        checks = sorted(
            "".join(str(check["sqltext"]).split())
            for check in inspector.get_check_constraints(table)
        )
        key = inspector.get_pk_constraint(table)["constrained_columns"]
        found[table] = {"columns": columns, "key": key, "indexes": indexes}
        found[table]["checks"] = checks
    found["triggers"] = _triggers(engine)
    return found


def _triggers(engine: sa.Engine) -> list[tuple[str, ...]]:
    query = {
        "sqlite": "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'",
        "postgresql": "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
        "WHERE NOT tgisinternal",
        "mysql": "SELECT trigger_name, event_object_table "
        "FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
    }[engine.dialect.name]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(query)
        return sorted(tuple(row) for row in rows if not row[0].startswith("surgad_"))


def test_db_init_creates_the_schema_gammu_smsd_ships(
    backend: str, database: databases.Database, engine: sa.Engine, tmp_path: Path
) -> None:
    """db init creates gammu's tables column for column as gammu's own SQL does."""
    example = GAMMU_EXAMPLES / EXAMPLE_FILE[backend]
    if not example.is_file():
        pytest.skip(f"{example} is not installed (Debian package gammu-smsd)")
    (tmp_path / "reference").mkdir()
    reference = databases.create(backend, tmp_path / "reference")
    reference_engine = sa.create_engine(reference.url)
    try:
        with reference_engine.begin() as conn:
            for statement in gammu.statements(example.read_text(encoding="utf-8")):
                # PostgreSQL has plpgsql built in; creating it again is an error.
                if not statement.upper().startswith("CREATE LANGUAGE"):
                    conn.exec_driver_sql(statement)
        assert describe(engine) == describe(reference_engine)
    finally:
        reference_engine.dispose()
        reference.drop()
    with engine.connect() as conn:
        assert gammu.installed_version(conn) == gammu.SCHEMA_VERSION


@pytest.mark.parametrize("backend", ["mysql"])
def test_db_init_refuses_gammus_myisam_tables(database: databases.Database) -> None:
    """A database made with gammu's own mysql.sql is refused, naming the fix."""
    example = GAMMU_EXAMPLES / EXAMPLE_FILE["mysql"]
    if not example.is_file():
        pytest.skip(f"{example} is not installed (Debian package gammu-smsd)")
    engine = db_engine.create(database.url_text)
    try:
        with engine.begin() as conn:
            for statement in gammu.statements(example.read_text(encoding="utf-8")):
                conn.exec_driver_sql(statement)
        with pytest.raises(DatabaseError, match="ALTER TABLE inbox ENGINE=InnoDB"):
            schema.init(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("encoding", ["SQL_ASCII", "LATIN1"])
def test_postgresql_database_not_in_utf8_is_refused(tmp_path: Path, encoding: str) -> None:
    """db init, db check and run refuse it in one line: an emoji SMS would never store."""
    if why := databases.unavailable("postgresql"):
        pytest.skip(why)
    database = databases.create_postgresql_encoded(encoding)
    try:
        path = write_config(tmp_path, database.url_text)
        for args in (["db", "init"], ["db", "check"], ["run", "--once"]):
            result = run_cli(path, *args, check=False)
            assert result.returncode == 4, (args, result.stderr)
            assert result.stderr.count("\n") == 1, (args, result.stderr)
            assert (
                f"database {database.name} has encoding {encoding}; surgad needs UTF8: "
                f"create it with CREATE DATABASE {database.name} ENCODING 'UTF8' "
                "TEMPLATE template0"
            ) in result.stderr
    finally:
        database.drop()


def test_db_init_run_three_times_at_once_succeeds_each_time(
    tmp_path: Path, database: databases.Database
) -> None:
    """Several hosts may set the database up at once: one creates, the others find it done."""
    config = write_config(tmp_path, database.url_text)
    argv = [sys.executable, "-m", "surgad", "--config", str(config), "db", "init"]
    runs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=cli_env())
        for _ in range(3)
    ]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    assert [code for code, _out, _err in results] == [0, 0, 0], results
    outputs = [out.strip() for _code, out, _err in results]
    assert sum("created gammu schema" in out for out in outputs) == 1, outputs
    assert outputs.count("database is up to date") == 2, outputs
    assert run_cli(config, "db", "check").stdout.strip() == "database ok"


def test_db_init_waits_while_another_holds_the_lock(
    tmp_path: Path, database: databases.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An init waits for the one running; one that waits too long says so."""
    config = write_config(tmp_path, database.url_text)
    engine = db_engine.create(database.url_text)
    try:
        with schema.one_at_a_time(engine):
            waiting = subprocess.Popen(
                [sys.executable, "-m", "surgad", "--config", str(config), "db", "init"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
            )
            time.sleep(2)
            assert waiting.poll() is None, waiting.communicate()
            monkeypatch.setattr(schema, "INIT_LOCK_TIMEOUT", 0.3)
            with pytest.raises(DatabaseError, match="another 'surgad db init' has been"):
                with schema.one_at_a_time(engine):
                    pass
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, err
        assert "created gammu schema" in out
    finally:
        engine.dispose()


@SERVERS
def test_a_server_lost_under_a_bulk_write_reads_as_a_lost_server(
    backend: str, database: databases.Database, engine: sa.Engine
) -> None:
    """Writes that go straight to the driver fail as SQLAlchemy's statements do,
    so the worker retries them instead of taking the batch for bad data."""
    tables = gammu.tables(backend)
    with pytest.raises(sa.exc.SQLAlchemyError):  # the transaction went with its session
        with db_engine.writing(engine) as conn:
            conn.exec_driver_sql("SELECT 1")
            assert database.end_other_sessions() >= 1
            with pytest.raises(sa.exc.DBAPIError) as raised:
                outbox.queue(conn, tables, [outbox.Sms("+6281234567001", "tes", "t")])
    assert retry.is_transient(raised.value), raised.value
    with engine.connect() as conn:  # and the pool hands out a live connection
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


@SERVERS
def test_server_tables_are_transactional_and_keep_emoji(
    backend: str, engine: sa.Engine
) -> None:
    """On the servers gammu's tables support transactions and 4-byte UTF-8."""
    text = "Lampu mati 😡 sejak kemarin 🙏"
    with engine.begin() as conn:
        outbox.queue(conn, gammu.tables(backend), [outbox.Sms("+6281", text, "t")])
    with engine.connect() as conn:
        stored = conn.execute(sa.select(gammu.tables(backend).outbox.c.TextDecoded))
        assert stored.scalar_one() == text
        if backend == "mysql":
            engines = conn.exec_driver_sql(
                "SELECT DISTINCT engine, table_collation FROM information_schema.tables "
                "WHERE table_schema = DATABASE()"
            ).all()
            assert [(name, collation.split("_")[0]) for name, collation in engines] == [
                ("InnoDB", "utf8mb4")
            ]


@SERVERS
def test_claimed_rows_are_skipped_not_waited_for(
    backend: str, engine: sa.Engine
) -> None:
    """A second claimer gets the next rows at once; a claim ends with its transaction."""
    tables = gammu.tables(backend)
    store(engine, inbox_rows(10))
    with engine.connect() as first, engine.connect() as second:
        with first.begin():
            mine = inbox.fetch_batch(first, tables, after_id=0, limit=4, lock=True)
            with second.begin():
                started = time.monotonic()
                theirs = inbox.fetch_batch(
                    second, tables, after_id=0, limit=4, lock=True
                )
                waited = time.monotonic() - started
        with second.begin():
            again = inbox.fetch_batch(second, tables, after_id=0, limit=4, lock=True)
    assert [row.id for row in mine] == [1, 2, 3, 4]
    assert [row.id for row in theirs] == [5, 6, 7, 8]
    assert waited < 1
    assert [row.id for row in again] == [1, 2, 3, 4]


@SERVERS
def test_partitioned_claims_never_skip_each_others_rows(
    backend: str, engine: sa.Engine
) -> None:
    """Worker 1 gets exactly its share while worker 0 keeps claiming its own.

    On MariaDB a claim can find its rows briefly locked by the other worker's
    scan; it then says so (RowsBusy) and is retried, never returning a part.
    """
    tables = gammu.tables(backend)
    store(engine, inbox_rows(40))
    with engine.begin() as conn:
        share = [
            row.id
            for row in inbox.fetch_batch(conn, tables, after_id=0, limit=50, partition=(1, 2))
        ]
    assert 0 < len(share) < 40, "both workers have a share of the inbox"
    done = threading.Event()

    def scan_as_worker_0() -> None:
        with engine.connect() as conn:
            while not done.is_set():
                with conn.begin():
                    try:
                        inbox.fetch_batch(
                            conn, tables, after_id=0, limit=50, partition=(0, 2),
                            lock=True,
                        )
                    except inbox.RowsBusy:
                        pass

    scanner = threading.Thread(target=scan_as_worker_0)
    scanner.start()
    claims = []
    try:
        with engine.connect() as conn:
            for _ in range(30):
                with conn.begin():
                    try:
                        rows = inbox.fetch_batch(
                            conn, tables, after_id=0, limit=50, partition=(1, 2),
                            lock=True,
                        )
                    except inbox.RowsBusy:
                        continue
                    claims.append([row.id for row in rows])
    finally:
        done.set()
        scanner.join()
    assert claims and all(claim == share for claim in claims)


def test_each_senders_sms_go_to_one_worker(backend: str, engine: sa.Engine) -> None:
    """Workers share the inbox by sender, on SQLite too: a number's SMS are all
    decided by one worker, in the order they were stored."""
    tables = gammu.tables(backend)
    rows = [row for _round in range(3) for row in inbox_rows(10)]
    rows += [dict(rows[0], UDH="050003A70201"), dict(rows[1], UDH="050003A70202")]
    store(engine, rows)
    with engine.connect() as conn:
        shares = [
            inbox.fetch_batch(conn, tables, after_id=0, limit=100, partition=(k, 2))
            for k in range(2)
        ]
    senders = [{row.sender for row in share} for share in shares]
    assert senders[0] and senders[1] and not senders[0] & senders[1]
    assert sorted(row.id for share in shares for row in share) == list(range(1, 33))
    assert all(share == sorted(share, key=lambda row: row.id) for share in shares)


def test_rows_are_marked_processed_once(backend: str, engine: sa.Engine) -> None:
    """Marking is guarded: a second mark of the same rows marks nothing."""
    tables = gammu.tables(backend)
    store(engine, inbox_rows(3))
    with engine.begin() as conn:
        assert inbox.mark_processed(conn, tables, [1, 2]) == 2
    with engine.begin() as conn:
        assert inbox.mark_processed(conn, tables, [1, 2, 3]) == 1
        assert inbox.pending(conn, tables) == 0
        assert inbox.unaccounted(conn, tables) == 3  # no outcomes recorded here


def test_database_now_is_the_clock_of_gammus_defaults(
    backend: str, engine: sa.Engine
) -> None:
    """database_now and a row's default UpdatedInDB read the same clock and zone."""
    store(engine, inbox_rows(1))
    tables = gammu.tables(backend)
    with engine.connect() as conn:
        now = inbox.database_now(conn)
        (stored,) = conn.execute(sa.select(tables.inbox.c.UpdatedInDB)).one()
    assert abs((now - clock.parse_db_time(stored)).total_seconds()) < 5


def test_unprocessed_rows_are_found_through_surgads_index(
    backend: str, engine: sa.Engine
) -> None:
    """The claim query reads surgad's index on unprocessed rows, not the table."""
    tables = gammu.tables(backend)
    store(engine, inbox_rows(2000))
    with engine.begin() as conn:
        inbox.mark_processed(conn, tables, list(range(1, 1991)))
    captured: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        captured.append((args[2], args[3]))

    sa.event.listen(engine, "before_cursor_execute", capture)
    with engine.begin() as conn:
        rows = inbox.fetch_batch(conn, tables, after_id=0, limit=100)
    sa.event.remove(engine, "before_cursor_execute", capture)
    assert [row.id for row in rows] == list(range(1991, 2001))

    statement, parameters = next(c for c in captured if "FROM inbox" in c[0])
    with engine.begin() as conn:
        plan = explain(conn, statement, parameters)
    assert "surgad_inbox_unprocessed" in plan


def explain(conn: sa.Connection, statement: str, parameters: Any) -> str:
    """Return the query plan of a statement as one text."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return " ".join(str(row[-1]) for row in rows)
    conn.exec_driver_sql(
        "ANALYZE " + ("inbox" if dialect == "postgresql" else "TABLE inbox")
    )
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
    return " ".join(" ".join(str(value) for value in row) for row in rows)


def test_long_message_is_one_outbox_row_and_its_parts(
    backend: str, engine: sa.Engine
) -> None:
    """A three-part message: part 1 in outbox, parts 2-3 beside it, one reference."""
    tables = gammu.tables(backend)
    text = "Jalan sudah diperbaiki, terima kasih 🙏. " * 4
    with engine.begin() as conn:
        written = outbox.queue(conn, tables, [outbox.Sms("+6281", text, "surgad/x")])
    with engine.connect() as conn:
        first = conn.execute(sa.select(tables.outbox)).one()
        rest = conn.execute(
            sa.select(tables.outbox_multipart).order_by(
                tables.outbox_multipart.c.SequencePosition
            )
        ).all()
    assert written == 3
    assert first.MultiPart == tables.flag(True)
    assert [row.SequencePosition for row in rest] == [2, 3]
    assert {row.ID for row in rest} == {first.ID}
    udhs = [codec.parse_udh(row.UDH) for row in (first, *rest)]
    assert {udh.reference for udh in udhs if udh} == {first.ID % 256}
    assert first.TextDecoded + "".join(row.TextDecoded for row in rest) == text


def test_bulk_rows_keep_every_character_and_type(backend: str, engine: sa.Engine) -> None:
    """Tabs, newlines, backslashes, emoji, NULLs, numbers, flags and times come
    back exactly as the bulk writer wrote them (COPY on PostgreSQL)."""
    tables = gammu.tables(backend)
    texts = ["tab\there", "two\nlines\r\n", "back\\slash \\N \\t", "🙏 é ✓"]
    now = dt.datetime(2026, 12, 5, 1, 2, 3, 456789)
    row = {
        "citizen": "+6281", "text": texts[2], "unit_code": "PUPR", "confidence": 0.625,
        "kelurahan": None, "incomplete": True, "concat_key": None, "status": "open",
        "received_at": now, "created_at": now, "deadline_at": now, "escalate_at": None,
        "inbox_id": 1,
    }
    with engine.begin() as conn:
        outbox.queue(conn, tables, [outbox.Sms("+6281", text, "surgad/x") for text in texts])
        (complaint_id,) = complaints.insert(conn, [row])
        inbox.record_outcomes(conn, [inbox.outcome(1, "rejected", now, None, texts[1])])
    with engine.connect() as conn:
        sent = conn.execute(
            sa.select(tables.outbox.c.TextDecoded, tables.outbox.c.Text, tables.outbox.c.Status)
            .order_by(tables.outbox.c.ID)
        ).all()
        stored = conn.execute(
            sa.select(complaints.complaint).where(complaints.complaint.c.id == complaint_id)
        ).mappings().one()
        (reason, key, handled) = conn.execute(sa.text(
            "SELECT reason, dedup_key, handled_at FROM surgad_inbox_outcome"
        )).one()
    assert [row.TextDecoded for row in sent] == texts
    assert {(row.Text, row.Status) for row in sent} == {(None, "Reserved")}
    assert {name: stored[name] for name in row if "_at" not in name} == {
        name: value for name, value in row.items() if "_at" not in name
    }
    # MariaDB's DATETIME columns keep whole seconds.
    kept = now.replace(microsecond=0) if backend == "mysql" else now
    assert clock.parse_db_time(stored["received_at"]) == kept
    assert stored["escalate_at"] is None
    assert (reason, key, clock.parse_db_time(handled)) == (texts[1], None, kept)


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "row_by_row"])
def test_ids_the_database_picks_come_back_in_row_order(
    backend: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    """Rows inserted where ids cannot be reserved get their own ids back, in order:
    by one INSERT ... RETURNING, or (MySQL) a statement per row. On MariaDB the
    outbox takes this path, long messages included."""
    monkeypatch.setattr(engine.dialect, "insert_returning", returning)
    monkeypatch.setattr(bulk, "MYSQL_STATEMENT_BYTES", 400)  # MariaDB: a few statements
    tables = gammu.tables(backend)
    now = dt.datetime(2026, 12, 5, 1, 2, 3)
    rows = [
        {"citizen": f"+628{index}", "text": f"aduan {index}", "unit_code": "PUPR",
         "confidence": 0.5, "incomplete": False, "status": "open", "received_at": now,
         "created_at": now, "deadline_at": now, "inbox_id": index}
        for index in range(1, 6)
    ]
    long_text = "Mohon segera ditindaklanjuti laporan warga. " * 5
    texts = ["a", long_text, "b", long_text + "!"]
    with db_engine.writing(engine) as conn:
        ids = bulk.inserted_ids(conn, complaints.complaint, rows)
        if backend == "mysql":
            outbox.queue(conn, tables, [outbox.Sms("+6281", text, "t") for text in texts])
    with engine.connect() as conn:
        stored = dict(conn.execute(
            sa.select(complaints.complaint.c.id, complaints.complaint.c.text)
        ).all())
        sent = conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.ID)).all()
        parts = conn.execute(sa.select(tables.outbox_multipart)).all()
    assert ids == sorted(ids) and [stored[i] for i in ids] == [row["text"] for row in rows]
    if backend != "mysql":
        return
    for row, text in zip(sent, texts, strict=True):
        own = sorted((part for part in parts if part.ID == row.ID),
                     key=lambda part: part.SequencePosition)
        assert row.TextDecoded + "".join(part.TextDecoded for part in own) == text
        udhs = [codec.parse_udh(udh) if udh else None
                for udh in [row.UDH] + [part.UDH for part in own]]
        assert {udh.reference for udh in udhs if udh} <= {row.ID % 256}
        assert all(udhs) == (len(text) > 1)


def test_outbox_ids_are_never_reused_after_gammu_sends(
    backend: str, engine: sa.Engine
) -> None:
    """Ids keep growing after the newest rows leave the outbox, and a mixed batch
    writes each long message with its own reference beside single SMS."""
    tables = gammu.tables(backend)
    long_text = "Mohon segera ditindaklanjuti laporan warga. " * 5
    batch = [outbox.Sms("+6281", text, "surgad/x") for text in ("a", long_text, "b")]
    with db_engine.writing(engine) as conn:
        outbox.queue(conn, tables, batch)
    with db_engine.writing(engine) as conn:
        first_ids = sorted(conn.execute(sa.select(tables.outbox.c.ID)).scalars())
        # gammu-smsd deletes what it sent, newest included.
        conn.execute(sa.delete(tables.outbox_multipart))
        conn.execute(sa.delete(tables.outbox))
    with db_engine.writing(engine) as conn:
        outbox.queue(conn, tables, batch + [outbox.Sms("+6282", long_text, "surgad/y")])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.ID)).all()
        parts = conn.execute(sa.select(tables.outbox_multipart)).all()
    assert len(first_ids) == 3
    assert min(row.ID for row in rows) > max(first_ids)
    long_rows = [row for row in rows if row.MultiPart == tables.flag(True)]
    assert len(long_rows) == 2
    for row in long_rows:
        own = [part for part in parts if part.ID == row.ID]
        udhs = [codec.parse_udh(udh) for udh in [row.UDH] + [part.UDH for part in own]]
        assert {udh.reference for udh in udhs if udh} == {row.ID % 256}
        assert len(udhs) == len(own) + 1 == udhs[0].total  # type: ignore[union-attr]
    assert long_rows[0].UDH[6:8] != long_rows[1].UDH[6:8]
    assert all(row.UDH is None for row in rows if row.MultiPart == tables.flag(False))


def test_sent_counts_count_messages_not_parts(backend: str, engine: sa.Engine) -> None:
    """sent_counts reads gammu's sentitems by message kind on every dialect."""
    tables = gammu.tables(backend)
    sent = [
        {"ID": 7, "SequencePosition": position, "CreatorID": creator, "Status": status}
        for position, creator, status in (
            (1, "surgad/ack/AB12", "SendingOKNoReport"),
            (2, "surgad/ack/AB12", "SendingOKNoReport"),
        )
    ] + [{"ID": 8, "SequencePosition": 1, "CreatorID": "x", "Status": "SendingError"}]
    common = {"Text": "", "UDH": "", "TextDecoded": "", "SenderID": "dummy"}
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.sentitems), [row | common for row in sent])
    with engine.connect() as conn:
        assert outbox.sent_counts(conn, tables) == {"ack": 1}
        assert outbox.queued(conn, tables) == 0


def test_emoji_sms_arrives_whole_in_inbox_and_complaint(
    make_line: Callable[..., Line],
) -> None:
    """gammu-smsd stores an emoji SMS intact; the complaint keeps the same text."""
    line = make_line()
    line.start_daemon()
    text = "lampu pju mati di jl veteran 😡 sudah seminggu"
    dummyphone.inject_incoming(line.device, "+6281234567001", text)
    line.wait_settled(1)

    assert line.scalar("SELECT TextDecoded FROM inbox") == text
    assert line.scalar("SELECT text FROM surgad_complaint") == text


def test_sms_with_a_nul_character_becomes_a_complaint(make_line: Callable[..., Line]) -> None:
    """A NUL in an SMS (which PostgreSQL cannot store as text) is dropped, not a failure."""
    line = make_line(with_gammu=False)
    text = "air pdam mati\x00 di jl semeru sudah dua hari"
    line.insert_inbox(
        [inbox_rows(1)[0] | {"Text": text.encode("utf-16-be").hex().upper(), "TextDecoded": ""}]
    )
    line.start_daemon()
    line.wait_settled(1)
    assert line.scalar("SELECT text FROM surgad_complaint") == text.replace("\x00", "")
    assert "batch_failed" not in line.daemon_log_text()


# Rows gammu-smsd never writes, but another program writing its inbox might:
# per database, (what the row holds, the defect it is rejected for).
UNREADABLE_ROWS = {
    "sqlite": [
        ("'not a date', 'dummy', '+6281355500001', -1",
         "ReceivingDateTime 'not a date' cannot be read"),
        ("'2026-02-30 10:00:00', 'dummy', '+6281355500002', -1",
         "ReceivingDateTime '2026-02-30 10:00:00' cannot be read"),
        ("datetime('now', '+7 hours'), 'dummy', '+6281355500003', 'abc'",
         "Class 'abc' cannot be read"),
        ("datetime('now', '+7 hours'), 'dummy', X'FFFE41', -1",
         "SenderNumber is not UTF-8 text"),
        ("datetime('now', '+7 hours'), 'dummy', CAST(X'FFFE41' AS TEXT), -1",
         "SenderNumber is not UTF-8 text"),
        ("datetime('now', '+7 hours'), CAST(X'C0' AS TEXT), '+6281355500006', -1",
         "RecipientID is not UTF-8 text"),
    ],
    "mysql": [
        ("'0000-00-00 00:00:00', 'dummy', '+6281355500001', -1",
         "ReceivingDateTime is empty"),
    ],
}


@pytest.mark.parametrize("backend", list(UNREADABLE_ROWS))
def test_rows_that_cannot_be_read_are_rejected_and_the_line_goes_on(
    backend: str, make_line: Callable[..., Line]
) -> None:
    """A row whose time, class or text cannot be read is rejected with what is
    wrong with it; the rows around it, in both workers' shares, are handled,
    and the start-up check of gammu's clock passes over it."""
    line = make_line(with_gammu=False, service={"workers": 2})
    insert_like_gammu(line, 6)
    for values, _ in UNREADABLE_ROWS[backend]:
        line.query_write(
            "INSERT INTO inbox (ReceivingDateTime, RecipientID, SenderNumber, Class, Text, "
            f"UDH, SMSCNumber, TextDecoded, Coding) VALUES ({values}, '0061', '', "
            "'+6281100000', 'a', 'Default_No_Compression')"
        )
    bad = len(UNREADABLE_ROWS[backend])

    line.start_daemon()
    line.wait_settled(6 + bad)

    handled = "SELECT COUNT(*) FROM surgad_inbox_outcome WHERE outcome <> 'rejected'"
    assert line.scalar(handled) == 6
    reasons = [row[0] for row in line.query(
        "SELECT reason FROM surgad_inbox_outcome WHERE outcome = 'rejected' ORDER BY inbox_id"
    )]
    assert reasons == [f"unreadable row: {defect}" for _, defect in UNREADABLE_ROWS[backend]]
    log = line.daemon_log_text()
    assert "worker_crashed" not in log and "database_unavailable" not in log
    assert line.daemon is not None and line.daemon.poll() is None


def test_waiter_wakes_on_new_rows_or_sleeps(backend: str, engine: sa.Engine) -> None:
    """PostgreSQL's notification and a commit to the SQLite file end the wait at
    once; on MariaDB the wait is a sleep."""
    with notify.Waiter(engine, poll_interval=0.05) as waiter:
        if backend == "mysql":
            started = time.monotonic()
            assert waiter.wait(0.3) is False
            assert time.monotonic() - started >= 0.3
            return
        if backend == "postgresql":
            assert waiter.wait(0.3) is True  # just listening: poll once at once
        writer = sa.create_engine(engine.url)  # a connection of its own, like gammu-smsd
        timer = threading.Timer(0.5, store, (writer, inbox_rows(1)))
        started = time.monotonic()
        timer.start()
        woken = waiter.wait(30)
        timer.join()
        writer.dispose()
        assert woken is True
        assert time.monotonic() - started < notify.SAFETY_POLL_INTERVAL


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_workers_own_commit_does_not_wake_it(engine: sa.Engine) -> None:
    """On SQLite a waiter sleeps through its own engine's commits."""
    with notify.Waiter(engine, poll_interval=0.05) as waiter:
        store(engine, inbox_rows(1))
        assert waiter.wait(0.1) is False


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_small_write_waits_until_other_writers_pause(engine: sa.Engine) -> None:
    """Commits from another connection (gammu-smsd's) hold a small batch's write
    back until they pause, up to a limit; a quiet file holds it only briefly."""
    assert worker.QUIET_FOR <= worker.await_quiet(engine) < 1
    writer = sa.create_engine(engine.url)
    stop = threading.Event()

    def keep_writing() -> None:
        index = 0
        while not stop.is_set():
            store(writer, inbox_rows(1, start=index))
            index += 1
            time.sleep(worker.QUIET_FOR / 10)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        time.sleep(0.05)
        assert worker.await_quiet(engine) >= worker.QUIET_LIMIT
    finally:
        stop.set()
        thread.join()
        writer.dispose()


@POSTGRESQL
def test_notification_wakes_only_the_worker_whose_share_it_is(engine: sa.Engine) -> None:
    """A new SMS wakes the worker whose share of the inbox it falls in, not the other."""
    row = inbox_rows(1)[0]
    with engine.connect() as conn:
        hashed = conn.execute(
            sa.text("SELECT abs(hashtext(:number)::bigint)"), {"number": row["SenderNumber"]}
        ).scalar_one()
    owner_index = int(hashed) % 2
    owner = notify.Waiter(engine, poll_interval=0.05, partition=(owner_index, 2))
    other = notify.Waiter(engine, poll_interval=0.05, partition=(1 - owner_index, 2))
    with owner, other:
        assert owner.wait(0.3) is True and other.wait(0.3) is True  # now listening
        store(engine, [row])
        started = time.monotonic()
        assert owner.wait(30) is True
        assert time.monotonic() - started < 1
        assert other.wait(0.3) is False  # slept to its safety poll instead


@MYSQL
def test_peek_sees_the_unprocessed_rows_of_its_own_share(engine: sa.Engine) -> None:
    """On MariaDB an idle worker peeks before a claim pass: the peek says yes
    for an unprocessed row in its share only, and yes when it cannot tell."""
    tables = gammu.tables("mysql")
    row = inbox_rows(1)[0]
    with engine.connect() as conn:
        owner_index = conn.execute(
            sa.text("SELECT crc32(:number) % 2"), {"number": row["SenderNumber"]}
        ).scalar_one()
    owner, other = (
        notify.Peek(engine, inbox.waiting(tables, (index, 2), "mysql"))
        for index in (owner_index, 1 - owner_index)
    )
    assert not owner.any_waiting() and not other.any_waiting()
    store(engine, [row])
    assert owner.any_waiting() and not other.any_waiting()
    with engine.begin() as conn:
        assert inbox.mark_processed(conn, tables, [conn.execute(
            sa.text("SELECT MAX(ID) FROM inbox")).scalar_one()]) == 1
    assert not owner.any_waiting()
    owner.close()
    other.close()
    unreachable = db_engine.create("mysql+mysqldb://root@127.0.0.1:1/test")
    assert notify.Peek(unreachable, inbox.waiting(tables, (0, 1), "mysql")).any_waiting()
    unreachable.dispose()


@MYSQL
def test_pymysql_url_of_an_older_config_still_works(
    database: databases.Database,
) -> None:
    """A mysql+pymysql:// URL, written before mysqlclient, sets up and queues a
    long emoji SMS through PyMySQL."""
    older = database.url.set(drivername="mysql+pymysql")
    url = older.render_as_string(hide_password=False)
    assert db_engine.url_problem(url) is None
    engine = db_engine.create(url)
    tables = gammu.tables("mysql")
    text = "Lampu mati 😡 sejak kemarin, mohon dicek 🙏 " * 4
    try:
        schema.init(engine)
        with db_engine.writing(engine) as conn:
            outbox.queue(conn, tables, [outbox.Sms("+6281", text, "t")])
        with engine.connect() as conn:
            first = conn.execute(sa.select(tables.outbox.c.TextDecoded)).scalar_one()
            rest = conn.execute(
                sa.select(tables.outbox_multipart.c.TextDecoded)
                .order_by(tables.outbox_multipart.c.SequencePosition)
            ).scalars().all()
    finally:
        engine.dispose()
    assert engine.dialect.driver == "pymysql"
    assert len(rest) >= 1 and first + "".join(rest) == text


@POSTGRESQL
def test_idle_daemon_wakes_on_notification(make_line: Callable[..., Line]) -> None:
    """With a 30 s poll interval an SMS is still settled within seconds."""
    line = make_line(with_gammu=False, service={"poll_interval": 30})
    line.start_daemon()
    wait_for(
        lambda: line.daemon_log_text().count("inbox_listening") >= 2,
        30,
        "both workers to listen",
    )
    time.sleep(0.5)
    insert_like_gammu(line, 1)
    line.wait_settled(1, timeout=notify.SAFETY_POLL_INTERVAL - 1)


@SERVERS
def test_daemon_survives_its_sessions_being_ended(
    backend: str, make_line: Callable[..., Line], database: databases.Database
) -> None:
    """Sessions ended mid-batch and while idle: every SMS settled once, no restart."""
    line = make_line(with_gammu=False, service={"batch_size": 10, "workers": 2})
    insert_like_gammu(line, 400)
    line.start_daemon()
    wait_for(lambda: line.settled() >= 40, 60, "the daemon to be busy")
    ended = 0
    for _ in range(4):
        ended += database.end_other_sessions()
        time.sleep(0.2)
    line.wait_settled(400)
    time.sleep(1)
    ended += database.end_other_sessions()  # idle: pools (and listeners) die
    line.insert_inbox(inbox_rows(20))
    line.wait_settled(420, timeout=20)

    assert ended > 0
    assert_each_sms_settled_once(line)
    assert line.daemon is not None and line.daemon.poll() is None
    log = line.daemon_log_text()
    assert "worker_died" not in log and "worker_hung" not in log
    if backend == "postgresql":
        assert "inbox_listen_lost" in log


@SERVERS
def test_a_rested_pooled_connection_is_tested_and_replaced(
    engine: sa.Engine, database: databases.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection whose session died while it rested is replaced at
    checkout, so the statement after a quiet spell does not fail."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert database.end_other_sessions() >= 1
    monkeypatch.setattr(db_engine, "PING_AFTER_IDLE", 0.0)  # it has rested enough
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1


@POSTGRESQL
def test_daemon_waits_out_a_database_refusing_connections(
    make_line: Callable[..., Line], database: databases.Database
) -> None:
    """While the database refuses sessions workers back off; then they catch up."""
    line = make_line(with_gammu=False)
    line.start_daemon()
    wait_for(
        lambda: line.daemon_log_text().count("inbox_listening") >= 2,
        30,
        "both workers to listen",
    )
    with line.engine.connect() as kept:
        kept_pid = kept.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        database.allow_connections(False)
        try:
            database.end_other_sessions(sparing=[kept_pid])
            line.insert_inbox(inbox_rows(30), conn=kept)
            wait_for(
                lambda: "database_retry" in line.daemon_log_text(),
                10,
                "a worker to retry",
            )
            time.sleep(2)
        finally:
            database.allow_connections(True)
    line.wait_settled(30, timeout=60)

    assert_each_sms_settled_once(line)
    assert line.daemon is not None and line.daemon.poll() is None


def assert_each_sms_settled_once(line: Line) -> None:
    """Check that no inbox row is open or lost, and no complaint or ack doubled."""
    assert line.unprocessed() == 0
    assert line.settled() == line.scalar("SELECT COUNT(*) FROM inbox")
    doubled = line.query(
        "SELECT inbox_id FROM surgad_complaint GROUP BY inbox_id HAVING COUNT(*) > 1"
    )
    assert doubled == []
    acks = line.query(
        "SELECT CreatorID FROM outbox WHERE CreatorID LIKE 'surgad/ack/%' "
        "GROUP BY CreatorID HAVING COUNT(*) > 1"
    )
    assert acks == []


def test_event_units_migration_copies_recorded_reassignments(engine: sa.Engine) -> None:
    """Revision 0008 gives reassignments recorded before it their units in columns."""
    with engine.connect() as conn:
        config = schema.alembic_config(conn)
        command.downgrade(config, "0007")
        conn.commit()
        conn.execute(sa.text(
            "INSERT INTO surgad_event (complaint_id, at, actor, action, detail) VALUES "
            "(1, :at, 'x', 'reassigned', 'PUPR -> PDAM: pipa: bocor'), "
            "(1, :at, 'x', 'reassigned', 'PDAM -> DLHKP'), "
            "(1, :at, 'x', 'reprimanded', 'reminder from the mayor')"
        ), {"at": dt.datetime(2026, 12, 1)})
        conn.commit()
        command.upgrade(config, "head")
        conn.commit()
        rows = conn.execute(sa.text(
            "SELECT action, from_unit, to_unit FROM surgad_event ORDER BY id"
        )).all()
        assert [tuple(row) for row in rows] == [
            ("reassigned", "PUPR", "PDAM"),
            ("reassigned", "PDAM", "DLHKP"),
            ("reprimanded", None, None),
        ]
        assert complaints.moved_out_of(conn, 1, ["PUPR"]) == "PDAM"
        assert complaints.moved_out_of(conn, 1, ["PDAM", "DLHKP"]) == "DLHKP"


@POSTGRESQL
def test_notify_migration_downgrades_and_upgrades(engine: sa.Engine) -> None:
    """Revision 0003 removes its trigger on the way down and restores it going up."""
    count = "SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'surgad_inbox_notify'"
    with engine.connect() as conn:
        config = schema.alembic_config(conn)
        command.downgrade(config, "0002")
        conn.commit()
        assert conn.exec_driver_sql(count).scalar_one() == 0
        command.upgrade(config, "head")
        conn.commit()
        assert conn.exec_driver_sql(count).scalar_one() == 1
