"""The ``surgad`` command: parse arguments, wire the parts, report errors.

Errors are one line on stderr and an exit status named in ``surgad.errors``;
a traceback is only ever printed for a bug, never for bad input.
"""

from __future__ import annotations

import csv
import dataclasses
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy as sa

from surgad import (
    actions,
    classifier,
    clock,
    config,
    logs,
    supervisor,
    tickets,
    watchdog,
)
from surgad.db import complaints, gammu, inbox, models, outbox, schema
from surgad.db import engine as db_engine
from surgad.errors import ExitCode, SurgadError


@dataclasses.dataclass
class _State:
    paths: list[Path]
    log_level: str
    _settings: config.Settings | None = None

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            self._settings = config.load(self.paths)
        return self._settings

    def engine(self) -> sa.Engine:
        return db_engine.create(self.settings.database_url)


pass_state = click.make_pass_decorator(_State)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file; repeat to layer site overrides. [env: SURGAD_CONFIG]",
)
@click.option(
    "--log-level",
    default="info",
    envvar="SURGAD_LOG_LEVEL",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.version_option(package_name="surgad")
@click.pass_context
def cli(ctx: click.Context, paths: tuple[Path, ...], log_level: str) -> None:
    """SMS complaint line on gammu-smsd: route, forward, escalate."""
    logs.setup(log_level)
    ctx.obj = _State(list(paths) or config.default_paths(), log_level)


@cli.command()
@click.option(
    "--once", is_flag=True, help="Drain the inbox, run the watchdog once, exit."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    envvar="SURGAD_WORKERS",
    help="Worker processes (default: service.workers).",
)
@pass_state
def run(state: _State, once: bool, workers: int | None) -> None:
    """Run the daemon: worker pool, inbox polling and watchdog."""
    settings = state.settings
    pool = supervisor.Supervisor(
        settings, workers or settings.workers, once, state.log_level
    )
    sys.exit(pool.run())


@cli.group()
def db() -> None:
    """Create, upgrade and check the database."""


@db.command("init")
@pass_state
def db_init(state: _State) -> None:
    """Create gammu's schema (v17) if absent and migrate surgad's tables."""
    done = schema.init(state.engine())
    click.echo("\n".join(done) if done else "database is up to date")


@db.command("check")
@pass_state
def db_check(state: _State) -> None:
    """Check that the database answers and both schemas are current."""
    schema.check(state.engine())
    click.echo("database ok")


@cli.command("watchdog")
@pass_state
def watchdog_cmd(state: _State) -> None:
    """Escalate every complaint now overdue, once, and exit."""
    engine = state.engine()
    escalated = watchdog.scan(engine, gammu.tables(engine.dialect.name), state.settings)
    click.echo(f"escalated {escalated}")


@cli.command("classify")
@click.argument("text", required=False)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV file with a 'text' column; prints one unit code per row.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def classify_cmd(
    state: _State, text: str | None, csv_path: Path | None, as_json: bool
) -> None:
    """Show which unit a text would be routed to."""
    if (text is None) == (csv_path is None):
        raise click.UsageError("give either TEXT or --csv FILE")
    engine = classifier.Classifier.from_config(state.settings.lexicon)
    texts = [text] if text is not None else _csv_texts(csv_path)
    for item in texts:
        found = engine.classify(item)
        code = _routed_code(found, state.settings)
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "code": code,
                        "kind": found.kind,
                        "confidence": round(found.confidence, 3),
                        "kelurahan": found.kelurahan,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            click.echo(code)


def _routed_code(found: classifier.Classification, settings: config.Settings) -> str:
    if found.code is None:
        return "NONE"
    if found.confidence < settings.triage_threshold or found.code not in settings.units:
        return settings.triage_unit
    return found.code


def _csv_texts(path: Path | None) -> list[str]:
    assert path is not None
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise click.BadParameter("the CSV has no 'text' column", param_hint="--csv")
        return [row["text"] or "" for row in reader]


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
def stats(state: _State, as_json: bool) -> None:
    """Count inbox outcomes, complaints per unit and SMS sent by kind."""
    engine = state.engine()
    tables = gammu.tables(engine.dialect.name)
    with db_engine.reading(engine) as conn:
        figures = {
            "inbox_rows": int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(tables.inbox)
                ).scalar_one()
            ),
            "pending": inbox.pending(conn, tables),
            "unaccounted": inbox.unaccounted(conn, tables),
            "outcomes": inbox.outcome_counts(conn),
            "complaints_per_unit": complaints.counts_by_unit(conn),
            "sent": outbox.sent_counts(conn, tables),
            "queued": outbox.queued(conn, tables),
        }
    if as_json:
        click.echo(json.dumps(figures, indent=2, sort_keys=True))
        return
    for key, value in figures.items():
        click.echo(f"{key}: {value}")


@cli.group("complaints")
def complaints_group() -> None:
    """List, show and change complaints."""


@complaints_group.command("list")
@click.option("--status", type=click.Choice(models.STATES))
@click.option("--unit", help="Unit code, e.g. PUPR.")
@click.option(
    "--overdue", is_flag=True, help="Only open complaints past their deadline."
)
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=100, show_default=True
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def complaints_list(
    state: _State,
    status: str | None,
    unit: str | None,
    overdue: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List complaints, newest first."""
    if unit and unit.upper() not in state.settings.units:
        raise click.BadParameter(f"unknown unit {unit!r}", param_hint="--unit")
    with db_engine.reading(state.engine()) as conn:
        found = complaints.listing(
            conn,
            status=status,
            unit=unit.upper() if unit else None,
            overdue_at=clock.utc_now() if overdue else None,
            limit=limit,
        )
    rows = [_public(item, state.settings) for item in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    _table(rows, ["ticket", "status", "unit", "received", "deadline", "text"])


@complaints_group.command("show")
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def complaints_show(state: _State, ticket: str, as_json: bool) -> None:
    """Show one complaint and its history."""
    with db_engine.reading(state.engine()) as conn:
        found = actions.find(conn, ticket)
        assert found.id is not None
        record = _public(found, state.settings, full=True)
        record["history"] = [
            {**event, "at": _local(event["at"], state.settings)}
            for event in complaints.history(conn, found.id)
        ]
    if as_json:
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    for key, value in record.items():
        if key != "history":
            click.echo(f"{key:>12}: {value}")
    for event in record["history"]:
        click.echo(
            f"{'':>12}  {event['at']}  {event['action']:<13} {event['actor']}"
            f"  {event['detail'] or ''}"
        )


@complaints_group.command("ack")
@click.argument("ticket")
@pass_state
def complaints_ack(state: _State, ticket: str) -> None:
    """Record that the unit has followed up (stops the escalation clock)."""
    actions.acknowledge(state.engine(), ticket, _actor())
    click.echo(f"ticket {ticket} acknowledged")


@complaints_group.command("resolve")
@click.argument("ticket")
@click.option("--note", required=True, help="What was done; sent to the citizen.")
@pass_state
def complaints_resolve(state: _State, ticket: str, note: str) -> None:
    """Resolve a complaint and send the citizen the resolution SMS."""
    actions.resolve(state.engine(), state.settings, ticket, note, _actor())
    click.echo(f"ticket {ticket} resolved; citizen notified")


def _actor() -> str:
    """Name the person at the keyboard, also behind sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _local(value: Any, settings: config.Settings) -> str:
    if value is None:
        return ""
    return clock.utc_to_local(value, settings.zone).strftime("%Y-%m-%d %H:%M")


def _public(
    item: models.Complaint, settings: config.Settings, full: bool = False
) -> dict[str, Any]:
    assert item.id is not None
    record: dict[str, Any] = {
        "ticket": tickets.encode(item.id),
        "status": item.status,
        "unit": item.unit_code,
        "received": _local(item.received_at, settings),
        "deadline": _local(item.deadline_at, settings),
        "text": item.text if full else _shorten(item.text, 50),
    }
    if full:
        record.update(
            {
                "citizen": item.citizen,
                "kelurahan": item.kelurahan,
                "confidence": round(item.confidence, 3),
                "incomplete": item.incomplete,
                "acknowledged": _local(item.acked_at, settings),
                "escalated": _local(item.escalated_at, settings),
                "resolved": _local(item.resolved_at, settings),
                "resolution_note": item.resolution_note,
            }
        )
    return record


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        click.echo("no complaints")
        return
    widths = {
        col: max(len(col), *(len(str(row[col])) for row in rows)) for col in columns
    }
    click.echo("  ".join(col.upper().ljust(widths[col]) for col in columns))
    for row in rows:
        click.echo("  ".join(str(row[col]).ljust(widths[col]) for col in columns))


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"surgad: error: {message}", err=True)
    sys.exit(code)


def main() -> None:
    """Run the CLI; turn every expected error into one line and an exit status."""
    try:
        cli.main(standalone_mode=False, auto_envvar_prefix="SURGAD")
    except click.exceptions.Abort:
        _fail("aborted", ExitCode.FAILURE)
    except click.ClickException as exc:
        _fail(exc.format_message().replace("\n", " "), ExitCode.USAGE)
    except SurgadError as exc:
        _fail(str(exc), exc.exit_code)
    except sa.exc.OperationalError as exc:
        _fail(f"database: {str(exc.orig).splitlines()[0]}", ExitCode.DATABASE)
    except BrokenPipeError:
        sys.exit(ExitCode.FAILURE)
