"""Administration commands: units, head numbers, blocked senders, the report."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json

import click

from surgad import actions, cli_state, clock, config, directory, errors, phone
from surgad import modems as surgad_modems
from surgad import report as report_module
from surgad.cli_state import State, pass_state
from surgad.db import complaints as db_complaints
from surgad.db import directory as db_directory
from surgad.db import engine as db_engine
from surgad.db import gammu, history, models
from surgad.db import inbox as db_inbox
from surgad.db import modems as db_modems


def _number(value: str, state: State) -> str:
    try:
        return phone.normalise(value, state.settings.region)
    except phone.PhoneError as exc:
        # The operator's own typing, shown back as typed (the error's own text
        # masks it, as it would a citizen's number bound for a log).
        problem = f"{exc.reason}: {errors.shown(value)}"
        raise click.BadParameter(problem, param_hint="NUMBER") from None


def _code(value: str, state: State) -> str:
    code = value.upper()
    if code not in state.settings.units:
        known = " ".join(sorted(state.settings.units))
        raise click.BadParameter(
            f"unknown unit {errors.shown(value)} (known: {known})", param_hint="UNIT"
        )
    return code


def _roster(state: State) -> directory.Directory:
    with db_engine.reading(state.engine()) as conn:
        return directory.load(conn, state.settings)


@click.group("units")
def units() -> None:
    """List units and change their deadlines."""


@units.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def units_list(state: State, as_json: bool) -> None:
    """List units with their deadlines and head numbers."""
    roster = _roster(state)
    rows: list[dict[str, object]] = [
        {"code": code, "name": unit.short, "deadline_hours": roster.deadline_hours(code),
         "heads": " ".join(roster.heads_of(code))}
        for code, unit in sorted(state.settings.units.items())
    ]
    cli_state.emit(rows, as_json, ["code", "name", "deadline_hours", "heads"], "no units")


def _deadline_hours(ctx: click.Context, param: click.Parameter, hours: float) -> float:
    """Refuse the hours the unit file would refuse, in the same words."""
    if problem := config.deadline_problem(hours):
        raise click.BadParameter(problem, ctx, param)
    return hours


# A negative number of hours is a bad HOURS, not an unknown option "-1".
@units.command("set-deadline", context_settings={"ignore_unknown_options": True})
@click.argument("unit")
@click.argument("hours", type=float, callback=_deadline_hours)
@pass_state
def units_set_deadline(state: State, unit: str, hours: float) -> None:
    """Set how many hours a unit has to follow up new complaints."""
    code = _code(unit, state)
    with db_engine.writing(state.engine()) as conn:
        db_directory.set_deadline(conn, code, hours, cli_state.actor(), clock.utc_now())
    click.echo(f"{code}: deadline {hours:g} hours for new complaints")


@click.group("heads")
def heads() -> None:
    """List, add and remove the phone numbers that act for a unit."""


@heads.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def heads_list(state: State, as_json: bool) -> None:
    """List head numbers per unit."""
    roster = _roster(state)
    rows: list[dict[str, object]] = [
        {"unit": code, "number": number}
        for code in sorted(state.settings.units) for number in roster.heads_of(code)
    ]
    cli_state.emit(rows, as_json, ["unit", "number"], "no heads registered")


@heads.command("add")
@click.argument("unit")
@click.argument("number")
@click.option("--force", is_flag=True, help="Add the mayor's or a blocked number too.")
@pass_state
def heads_add(state: State, unit: str, number: str, force: bool) -> None:
    """Let a number act for a unit by SMS and receive its complaints.

    Open complaints that went to the mayor while the unit had no heads are
    forwarded to its heads now, once. The mayor's number, or a blocked one,
    only with --force.
    """
    code, e164 = _code(unit, state), _number(number, state)
    added, forwarded = actions.add_head(
        state.engine(), state.settings, code, e164, cli_state.actor(), force
    )
    click.echo(f"{code}: {'added' if added else 'already has'} {e164}")
    if forwarded:
        plural = "s" if forwarded > 1 else ""
        click.echo(
            f"{code}: forwarded {forwarded} open complaint{plural} to its heads; "
            f"{'they' if plural else 'it'} had gone to the mayor while {code} had no heads"
        )


@heads.command("remove")
@click.argument("unit")
@click.argument("number")
@click.option("--force", is_flag=True, help="Remove a unit's last head too.")
@pass_state
def heads_remove(state: State, unit: str, number: str, force: bool) -> None:
    """Stop a number acting for a unit (not its last head, unless --force)."""
    code, e164 = _code(unit, state), _number(number, state)
    left, escalated = actions.remove_head(
        state.engine(), state.settings, code, e164, force, cli_state.actor()
    )
    click.echo(f"{code}: removed {e164}")
    if escalated:
        plural = "s" if escalated > 1 else ""
        click.echo(f"{code}: sent {escalated} open complaint{plural} to the mayor")
    if not left:
        click.echo(
            f"surgad: warning: {code} has no head now: its complaints go to the mayor "
            f"until one is added",
            err=True,
        )


@click.group("senders")
def senders() -> None:
    """Block or unblock a sender (stored, never answered nor forwarded)."""


@senders.command("block")
@click.argument("number")
@click.option(
    "--reason",
    callback=cli_state.bounded_text(
        "the reason", "the blocked sender's record", models.BLOCK_REASON_LENGTH
    ),
    help=f"Why (recorded; at most {models.BLOCK_REASON_LENGTH} characters).",
)
@click.option("--force", is_flag=True, help="Block a unit head's or the mayor's number too.")
@pass_state
def senders_block(state: State, number: str, reason: str | None, force: bool) -> None:
    """Block a number (not a unit head's or the mayor's, unless --force)."""
    e164 = _number(number, state)
    with db_engine.writing(state.engine()) as conn:
        roster = directory.load(conn, state.settings)
        done = directory.block(
            conn, roster, e164, cli_state.actor(), reason or None, clock.utc_now(), force
        )
    click.echo(f"{e164} {'blocked' if done else 'was already blocked'}")


@senders.command("unblock")
@click.argument("number")
@pass_state
def senders_unblock(state: State, number: str) -> None:
    """Unblock a number."""
    e164 = _number(number, state)
    with db_engine.writing(state.engine()) as conn:
        done = db_directory.unblock(conn, e164)
    click.echo(f"{e164} {'unblocked' if done else 'was not blocked'}")


@senders.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def senders_list(state: State, as_json: bool) -> None:
    """List blocked numbers."""
    with db_engine.reading(state.engine()) as conn:
        rows = db_directory.blocked_numbers(conn)
    for row in rows:
        row["blocked_at"] = state.local(row["blocked_at"])  # type: ignore[arg-type]
    columns = ["number", "blocked_at", "blocked_by", "reason"]
    cli_state.emit(rows, as_json, columns, "no blocked senders")


@click.command("report")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (local time), YYYY-MM-DD.")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day (local time, inclusive), YYYY-MM-DD.")
@click.option("--format", "form", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@pass_state
def report(state: State, start: dt.datetime, end: dt.datetime, form: str) -> None:
    """Per unit: received, in time, overdue, escalated, resolved, medians, SMS sent."""
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    zone = state.settings.zone
    try:
        low = clock.local_to_utc(start, zone)
        high = clock.local_to_utc(end + dt.timedelta(days=1), zone)
    except OverflowError:
        raise click.BadParameter("dates out of range", param_hint="--from/--to") from None
    engine = state.engine()
    with db_engine.reading(engine) as conn:
        found = db_complaints.received_between(conn, low, high)
        parts = history.parts_sent_by_creator(conn, gammu.tables(engine.dialect.name))
    rows = [dataclasses.asdict(row) for row in report_module.build(found, parts, clock.utc_now())]
    columns = list(report_module.UnitFigures.__dataclass_fields__)
    if form == "json":
        click.echo(json.dumps(rows, indent=2))
    elif form == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        cli_state.table(rows, columns, "no complaints in that period")


@click.command("modems")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def modems(state: State, as_json: bool) -> None:
    """Each modem: heartbeat, signal, SMS sent/received in the last hour, queue, failures."""
    engine = state.engine()
    tables = gammu.tables(engine.dialect.name)
    with db_engine.reading(engine) as conn:
        now = db_inbox.database_now(conn)
        offset = db_inbox.database_offset(conn)
        hour_ago = now - dt.timedelta(hours=1)
        phones = db_modems.phones(conn, tables, state.settings.zone)
        sent = db_modems.sent_since(conn, tables, hour_ago)
        failed = db_modems.sent_since(conn, tables, hour_ago, failed=True)
        received = db_modems.received_since(conn, tables, hour_ago)
        waiting = db_modems.queued(conn, tables)
    rows: list[dict[str, object]] = [
        {
            "phone_id": row["id"],
            "alive": surgad_modems.is_alive(row, now, state.settings.status_frequency),
            "heartbeat": str(clock.utc_to_local(db_modems.heartbeat_utc(row, offset),
                                                state.settings.zone)),
            "signal": row["signal"],
            "sent_1h": sent.get(row["id"], 0),
            "received_1h": received.get(row["id"], 0),
            "queued": waiting.get(row["id"], 0),
            "failed_1h": failed.get(row["id"], 0),
        }
        for row in phones
    ]
    if as_json:
        click.echo(json.dumps({"modems": rows, "queued_for_any": waiting.get(None, 0)},
                              indent=2))
        return
    cli_state.table(rows, list(rows[0]) if rows else [], "no modem has registered yet")
    click.echo(f"queued for any modem: {waiting.get(None, 0)}")
