"""Claim inbox rows, decide what they cause, and commit it all at once.

A batch is read in one short read transaction and written in one short write
transaction: the inbox marks, the complaints, the outbox rows and the outcome
rows commit together or not at all. The write only marks rows nobody marked
in between; if another worker or host got there first, the whole batch rolls
back and is read again. A crash at any instant therefore loses nothing and
doubles nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa

from surgad import (
    actions,
    classifier,
    clock,
    conversation,
    directory,
    intake,
    logs,
    modems,
    retry,
    routing,
    tickets,
)
from surgad.config import Settings
from surgad.db import complaints, gammu, inbox, models, notify, outbox
from surgad.db import directory as db_directory
from surgad.db import engine as db_engine
from surgad.errors import WorkerLostError

MAX_QUARANTINED_IN_A_ROW = 3
TZ_WARNING_INTERVAL_INIT = 1e9
POOL_REFRESH_INTERVAL = 10.0


class Conflict(Exception):
    """Another worker settled some of the rows of this batch first."""


@dataclasses.dataclass
class Context:
    """What one worker process keeps between batches."""

    settings: Settings
    engine: sa.Engine
    tables: gammu.Tables
    classifier: classifier.Classifier
    partition: tuple[int, int] = (0, 1)
    cursor: int = 0
    roster: directory.Directory | None = None
    quarantined_in_a_row: int = 0
    pool: modems.Pool | None = None
    pool_loaded: float = 0.0
    tz_warned_at: float = -TZ_WARNING_INTERVAL_INIT
    busy_file_until: float = 0.0  # no quiet wait before then (see await_quiet)
    write_lock: AbstractContextManager[Any] = dataclasses.field(
        default_factory=contextlib.nullcontext
    )


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """How many rows a batch read, settled and held."""

    read: int
    settled: int
    held: int
    complaints: int
    conflict: bool = False
    lock_wait: float = 0.0  # seconds waiting for the pool's SQLite write lock
    lock_held: float = 0.0  # seconds holding it
    redecided: bool = False  # decided again in the write transaction


def make_context(
    settings: Settings,
    partition: tuple[int, int] = (0, 1),
    write_lock: AbstractContextManager[Any] | None = None,
) -> Context:
    """Open the database and build the classifier for one worker."""
    engine = db_engine.create(settings.database_url)
    return Context(
        settings=settings,
        engine=engine,
        tables=gammu.tables(engine.dialect.name),
        classifier=classifier.Classifier.from_config(settings.lexicon),
        partition=partition,
        write_lock=write_lock or contextlib.nullcontext(),
    )


def process_batch(ctx: Context, limit: int | None = None) -> BatchResult:
    """Read one batch after the cursor, settle it, and move the cursor on."""
    limit = limit or ctx.settings.batch_size
    if ctx.engine.dialect.name != "sqlite":
        # Row locks: rows another worker holds are skipped, not waited for.
        plan = None
        with db_engine.writing(ctx.engine) as conn:
            rows, sorting = _read(ctx, conn, limit, lock=True)
            made = 0
            if routing.all_row_ids(sorting):
                plan = _unplanned(ctx, sorting)
                made = _write(ctx, conn, sorting, plan)
        if plan is not None:
            actions.log_changes(plan.changes)
        return _advance(ctx, rows, sorting, made)
    # SQLite has one writer at a time, so as much as possible happens before
    # the write lock: reading, classifying, and deciding on a read snapshot.
    with db_engine.reading(ctx.engine) as conn:
        rows, sorting = _read(ctx, conn, limit, lock=False)
        if not routing.all_row_ids(sorting):
            return _advance(ctx, rows, sorting, 0)
        plan = _plan(ctx, conn, sorting)
    if len(rows) <= QUIET_BATCH and time.monotonic() >= ctx.busy_file_until:
        if await_quiet(ctx.engine) >= QUIET_LIMIT:
            ctx.busy_file_until = time.monotonic() + BUSY_FILE_PAUSE
    # Workers of one pool queue on a shared lock, which hands over at once,
    # instead of on SQLite's busy handler, which sleeps in steps of up to 100 ms.
    asked = time.perf_counter()
    with ctx.write_lock:
        got = time.perf_counter()
        with db_engine.writing(ctx.engine) as conn:
            made = _write(ctx, conn, sorting, plan)
    done = time.perf_counter()
    # A worker that keeps finding SMS is under load: its next small batch, if
    # it comes soon, does not wait for a quiet file either.
    ctx.busy_file_until = max(ctx.busy_file_until, time.monotonic() + UNDER_LOAD_GAP)
    actions.log_changes(plan.changes)
    result = _advance(ctx, rows, sorting, made)
    return dataclasses.replace(result, lock_wait=got - asked, lock_held=done - got,
                               redecided=plan.redecided)


# gammu-smsd's SQLite connection waits for no lock: any statement it runs while
# surgad holds the write lock fails ("database is locked"), and gammu sleeps and
# reconnects. Its writes come in bursts (store an SMS; mark, send and move one
# outbox row), and surgad's writes follow its inserts within milliseconds, so
# without care they land inside those bursts. Before a small batch's write the
# worker therefore waits until nobody has committed for QUIET_FOR seconds:
# longer than the gaps inside one gammu pass (the dummy phone's send takes
# about 10 ms), shorter than the pauses between passes. At most QUIET_LIMIT:
# a file that is never quiet is busy, and latency matters more there, so
# after a wait that ran to the limit the worker does not wait again for
# BUSY_FILE_PAUSE seconds. Nor does a worker that settled a batch less than
# UNDER_LOAD_GAP seconds ago: under steady traffic (100 SMS/s comes in
# batches of a few) the waits would otherwise add up to 80 ms to one SMS in
# twenty, while gammu's writes are a small share of the file's. Full batches
# (a backlog) do not wait.
QUIET_BATCH = 3
QUIET_FOR = 0.03
QUIET_LIMIT = 0.08
QUIET_STEP = 0.005
BUSY_FILE_PAUSE = 2.0
UNDER_LOAD_GAP = 0.5


def await_quiet(engine: sa.Engine) -> float:
    """Wait until no connection committed to the SQLite file for a while.

    Returns the seconds waited, at most QUIET_LIMIT (plus a step).
    """
    with db_engine.bare_connection(engine) as dbapi:
        started = changed = time.monotonic()
        version = db_engine.sqlite_data_version(dbapi)
        while True:
            time.sleep(QUIET_STEP)
            now = time.monotonic()
            current = db_engine.sqlite_data_version(dbapi)
            if current != version:
                version, changed = current, now
            if now - changed >= QUIET_FOR or now - started >= QUIET_LIMIT:
                return now - started


def _read(
    ctx: Context, conn: sa.Connection, limit: int, lock: bool
) -> tuple[list[intake.InboxRow], intake.Sorting]:
    rows = inbox.fetch_batch(
        conn,
        ctx.tables,
        after_id=ctx.cursor,
        limit=limit,
        partition=ctx.partition,
        lock=lock,
    )
    _check_clock(ctx, rows)
    senders = {row.sender for row in rows if row.udh}
    batch = rows + inbox.fetch_parts(conn, ctx.tables, senders)
    known = inbox.known_keys(conn, (intake.fingerprint(row) for row in batch))
    sorting = intake.sort_rows(
        batch,
        known,
        functools.partial(inbox.database_now, conn),
        ctx.settings.hold_window,
        ctx.settings.region,
    )
    return rows, sorting


TZ_WARNING_INTERVAL = 600.0


def _check_clock(ctx: Context, rows: Sequence[intake.InboxRow]) -> None:
    """Warn while gammu-smsd's stored times disagree with the configured zone.

    In SQLite a fresh row's ReceivingDateTime (gammu's local time) and its
    UpdatedInDB (UTC) differ by gammu-smsd's offset, give or take network delay.
    """
    if ctx.engine.dialect.name != "sqlite" or len(rows) < 3:
        return
    observed = clock.observed_offset_hours(
        (row.received, row.stored) for row in rows if not row.defect
    )
    expected = clock.zone_offset_hours(ctx.settings.zone)
    stale = time.monotonic() - ctx.tz_warned_at > TZ_WARNING_INTERVAL
    if observed is not None and abs(observed - expected) >= 1 and stale:
        ctx.tz_warned_at = time.monotonic()
        logs.get().error("gammu_timezone_mismatch", gammu_offset=observed,
                         configured=ctx.settings.timezone, configured_offset=expected)


def _classify(ctx: Context, sorting: intake.Sorting) -> dict[int, conversation.Reading]:
    """Classify and parse every message of a batch, keyed by its first inbox row id."""
    threshold = ctx.settings.triage_threshold
    return {
        message.rows[0].id: conversation.read(
            message.text, ctx.classifier.route(message.text, threshold)
        )
        for message in sorting.messages
    }


@dataclasses.dataclass
class Plan:
    """What a batch's messages say, and what they cause if nothing changes first.

    ``batch`` is None when the decisions need the write transaction: on the
    servers always, on SQLite when a message needs more than ``state`` holds.
    """

    readings: dict[int, conversation.Reading]
    now: dt.datetime
    state: conversation.SenderState | None = None
    roster: directory.Directory | None = None
    version: tuple[int, int] | None = None  # the snapshot's SQLite data_version
    batch: conversation.Batch | None = None
    complaint_rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # The new complaints' SMS, drafted and laid out before their ids are known.
    drafts: list[list[outbox.Sms] | None] = dataclasses.field(default_factory=list)
    redecided: bool = False
    changes: list[dict[str, str]] = dataclasses.field(default_factory=list)  # to log


def _unplanned(ctx: Context, sorting: intake.Sorting) -> Plan:
    return Plan(_classify(ctx, sorting), clock.utc_now())


def _plan(ctx: Context, conn: sa.Connection, sorting: intake.Sorting) -> Plan:
    """Decide a batch on the caller's read snapshot, without the write lock."""
    plan = _unplanned(ctx, sorting)
    plan.version = db_engine.data_version(conn)
    plan.state = conversation.SenderState.read(conn, _senders(sorting), plan.now)
    plan.roster = roster = _roster(ctx, conn)
    _pool(ctx, conn)  # refreshed here rather than under the write lock
    try:
        plan.batch = _decide(ctx, conn, sorting, plan, plan.state, dry=True)
    except conversation.NeedsLock:
        return plan
    plan.complaint_rows = [
        routing.complaint_row(new, ctx.settings, roster, plan.now) for new in plan.batch.new
    ]
    # Ids come under the lock; tickets are as wide as the snapshot suggests,
    # and an SMS whose ticket turns out wider is simply split again there.
    top = complaints.highest_id(conn) if plan.batch.new else 0
    plan.drafts = [
        routing.draft_sms(new, len(tickets.encode(top + index)), ctx.settings, roster)
        for index, new in enumerate(plan.batch.new, start=1)
    ]
    return plan


def _senders(sorting: intake.Sorting) -> set[str]:
    return {message.sender for message in sorting.messages}


def _decide(
    ctx: Context,
    conn: sa.Connection,
    sorting: intake.Sorting,
    plan: Plan,
    state: conversation.SenderState,
    dry: bool,
) -> conversation.Batch:
    batch = conversation.Batch(conn, ctx.settings, _roster(ctx, conn), plan.now, state, dry)
    for message in sorting.messages:
        batch.handle(message, plan.readings[message.rows[0].id], sorting.keys)
    return batch


def _write(ctx: Context, conn: sa.Connection, sorting: intake.Sorting, plan: Plan) -> int:
    """Settle every row of the batch in the caller's write transaction.

    A plan decided on a snapshot is written as it is if nobody wrote since, or
    if the senders' state is still what it was then; otherwise the batch is
    decided again here.
    """
    now = plan.now
    untouched = plan.version is not None and db_engine.data_version(conn) == plan.version
    ids = routing.all_row_ids(sorting)
    if inbox.mark_processed(conn, ctx.tables, ids) != len(ids):
        raise Conflict(f"{len(ids)} rows, some settled elsewhere")
    roster = _roster(ctx, conn)
    batch, rows = plan.batch, plan.complaint_rows
    if batch is not None and plan.state is not None and plan.roster is roster and untouched:
        return _write_decided(ctx, conn, sorting, plan, batch, rows, plan.drafts)
    state = conversation.SenderState.read(conn, _senders(sorting), now)
    unchanged = plan.state is not None and state.same_as(plan.state) and plan.roster is roster
    if batch is not None and unchanged:
        return _write_decided(ctx, conn, sorting, plan, batch, rows, plan.drafts)
    batch = _decide(ctx, conn, sorting, plan, state, dry=False)
    plan.redecided = True
    rows = [routing.complaint_row(new, ctx.settings, roster, now) for new in batch.new]
    return _write_decided(ctx, conn, sorting, plan, batch, rows, [])


def _write_decided(
    ctx: Context,
    conn: sa.Connection,
    sorting: intake.Sorting,
    plan: Plan,
    batch: conversation.Batch,
    rows: list[dict[str, Any]],
    drafts: list[list[outbox.Sms] | None],
) -> int:
    """Write what a batch's decisions cause, in the caller's write transaction.

    ``drafts`` holds the new complaints' drafted SMS, or is empty.
    """
    now, roster = plan.now, batch.roster
    plan.changes = batch.changes
    complaint_ids = complaints.insert(conn, rows)
    sms = list(batch.sms)
    outcomes = routing.settled_outcomes(sorting, now) + batch.outcomes
    drafted = drafts or [None] * len(complaint_ids)
    for new, complaint_id, draft in zip(batch.new, complaint_ids, drafted, strict=True):
        if draft is None:
            sms += routing.complaint_sms(new, complaint_id, ctx.settings, roster)
        else:
            sms += routing.fill_sms(draft, complaint_id)
        outcomes += routing.complaint_outcomes(new, complaint_id, sorting, now)
    recipients = {m.sender: m.rows[0].recipient for m in sorting.messages}
    outbox.queue(conn, ctx.tables, modems.assign(_pool(ctx, conn), sms, recipients))
    inbox.record_outcomes(conn, outcomes)
    db_directory.log_replies(conn, batch.reply_log, now)
    escalated = routing.escalations_at_once(batch.new, complaint_ids, roster, now, plan.changes)
    complaints.add_events(conn, batch.events + escalated)
    return len(complaint_ids)


def _pool(ctx: Context, conn: sa.Connection) -> modems.Pool:
    """Return the live modems, re-read every few seconds."""
    if ctx.pool is None or time.monotonic() - ctx.pool_loaded > POOL_REFRESH_INTERVAL:
        settings = ctx.settings
        ctx.pool = modems.load(conn, ctx.tables, settings.status_frequency,
                               settings.sim_hourly_budget, settings.zone)
        ctx.pool_loaded = time.monotonic()
    return ctx.pool


def _roster(ctx: Context, conn: sa.Connection) -> directory.Directory:
    """Return the directory of heads and blocked senders, reloaded when stale."""
    if ctx.roster is None or ctx.roster.stale():
        ctx.roster = directory.load(conn, ctx.settings)
    return ctx.roster


def _advance(
    ctx: Context, rows: Sequence[intake.InboxRow], sorting: intake.Sorting, made: int
) -> BatchResult:
    if rows:
        ctx.cursor = max(row.id for row in rows)
    settled = len(routing.all_row_ids(sorting))
    return BatchResult(len(rows), settled, len(sorting.held), made)


def quarantine(ctx: Context, row_id: int, error: BaseException) -> None:
    """Settle one row that made the worker fail, so it cannot fail again."""
    reason = f"internal error: {type(error).__name__}"
    with db_engine.writing(ctx.engine) as conn:
        if inbox.mark_processed(conn, ctx.tables, [row_id]) == 1:
            outcome = inbox.outcome(
                row_id, models.REJECTED, clock.utc_now(), None, reason
            )
            inbox.record_outcomes(conn, [outcome])


def step(ctx: Context) -> BatchResult:
    """Process one batch, surviving conflicts and rows that break the code."""
    log = logs.get(partition=ctx.partition[0])
    try:
        result = retry.call(process_batch, ctx)
        if result.settled:
            ctx.quarantined_in_a_row = 0
        return result
    except (Conflict, inbox.RowsBusy, sa.exc.IntegrityError) as exc:
        log.info("batch_conflict", cursor=ctx.cursor, error=type(exc).__name__)
        return BatchResult(0, 0, 0, 0, conflict=True)
    except Exception as exc:
        if retry.is_transient(exc):
            raise
        log.exception("batch_failed", cursor=ctx.cursor)
        return _one_by_one(ctx)


def _one_by_one(ctx: Context) -> BatchResult:
    """Retry the failed batch a row at a time; quarantine the row that fails."""
    return retry.call(_single, ctx)


def _single(ctx: Context) -> BatchResult:
    log = logs.get(partition=ctx.partition[0])
    with db_engine.reading(ctx.engine) as conn:
        rows = inbox.fetch_batch(
            conn, ctx.tables, after_id=ctx.cursor, limit=1, partition=ctx.partition
        )
    if not rows:
        return BatchResult(0, 0, 0, 0)
    try:
        return process_batch(ctx, limit=1)
    except (Conflict, inbox.RowsBusy, sa.exc.IntegrityError):
        return BatchResult(0, 0, 0, 0, conflict=True)
    except Exception as exc:
        if retry.is_transient(exc):
            raise
        ctx.quarantined_in_a_row += 1
        if ctx.quarantined_in_a_row > MAX_QUARANTINED_IN_A_ROW:
            # Every row failing is a bug or a broken environment, not bad SMS:
            # stop loudly instead of rejecting the whole inbox.
            raise WorkerLostError("rows keep failing; stopping this worker") from exc
        log.error("row_quarantined", inbox_id=rows[0].id, error=type(exc).__name__)
        quarantine(ctx, rows[0].id, exc)
        ctx.cursor = rows[0].id
        return BatchResult(1, 1, 0, 0)


IDLE_WAIT_CEILING = 1.0


def _idle_wait(poll_interval: float, idle_polls: int) -> float:
    """Poll at ``poll_interval`` while busy; back off to a second when idle.

    Under load there is no idle poll, so latency stays at the poll interval; an
    empty inbox costs a query a second per worker instead of ten.
    """
    if idle_polls <= 10:
        return poll_interval
    return max(poll_interval, min(IDLE_WAIT_CEILING, poll_interval * (idle_polls - 9)))


def drain(
    ctx: Context,
    should_stop: Callable[[], bool],
    beat: Callable[[], None],
    once: bool,
) -> None:
    """Poll the inbox until told to stop (or, with ``once``, until it is empty).

    Each pass reads from the lowest unprocessed id upwards, batch by batch.
    Where a wait ends as soon as new rows may be there (PostgreSQL, SQLite;
    see ``notify.Waiter``) a pass ends at the first batch that is not full:
    the inbox above it was empty a moment ago. Elsewhere, and with ``once``, a
    pass ends only where the inbox is empty. The next pass starts from the
    bottom again, which picks up held parts and rows committed out of order.
    """
    log = logs.get(partition=ctx.partition[0])
    waiter = notify.Waiter(
        ctx.engine, should_stop, beat, ctx.settings.poll_interval, ctx.partition,
        notify.watched_safety_poll(ctx.settings.hold_window),
    )
    peek = None
    if not waiter.wakes_early and ctx.engine.dialect.name == "mysql":
        dialect = ctx.engine.dialect.name
        peek = notify.Peek(ctx.engine, inbox.waiting(ctx.tables, ctx.partition, dialect))
    progress = False
    outage = 0.0
    idle_polls = 0
    while not should_stop():
        beat()
        try:
            if idle_polls and not once and peek is not None and not peek.any_waiting():
                result = BatchResult(0, 0, 0, 0)  # what a claim pass would find
            else:
                result = step(ctx)
        except Exception as exc:
            if not retry.is_transient(exc):
                raise
            # The database is away: keep running (and beating), say so, retry.
            outage = min(outage * 2 or 1.0, retry.MAX_WAIT_INTERVAL)
            log.warning("database_unavailable", retry_in=outage, error=retry.describe(exc))
            waiter.wait(outage)
            continue
        if outage:
            log.info("database_back")
            outage = 0.0
        progress = progress or result.settled > 0 or result.conflict
        if result.read:
            log.debug(
                "batch_done",
                read=result.read,
                settled=result.settled,
                held=result.held,
                complaints=result.complaints,
                lock_wait_ms=round(result.lock_wait * 1000, 1),
                lock_held_ms=round(result.lock_held * 1000, 1),
                redecided=result.redecided,
            )
            full = result.read >= ctx.settings.batch_size
            if once or full or not waiter.wakes_early:
                continue  # more may be waiting right behind this batch
        if once and not progress:
            return
        ctx.cursor = 0
        if once and not result.conflict:
            # Another pass right away: it ends the run or finds more to do,
            # so waiting (up to the safety poll on SQLite) gains nothing.
            progress = False
            continue
        if progress and not result.conflict:
            idle_polls = 0
        else:  # idle, or rows busy elsewhere
            idle_polls += 1
        progress = False
        waiter.wait(_idle_wait(ctx.settings.poll_interval, idle_polls))
