"""The ``surgad`` command: parse arguments, wire the parts, report errors.

Errors are one line on stderr and an exit status named in ``surgad.errors``;
a traceback is only ever printed for a bug, never for bad input.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click
import sqlalchemy as sa

from surgad import (
    classifier,
    cli_admin,
    cli_staff,
    cli_state,
    clock,
    config,
    errors,
    logs,
    supervisor,
    watchdog,
)
from surgad.db import complaints, gammu, inbox, outbox, schema
from surgad.db import directory as db_directory
from surgad.db import engine as db_engine
from surgad.errors import ExitCode, SurgadError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "paths",
    multiple=True,
    # Checked as SURGAD_CONFIG is, when loaded: a directory is a config error.
    type=click.Path(),
    help="Config file; repeat to layer site overrides. [env: SURGAD_CONFIG]",
)
@click.option(
    "--log-level",
    envvar="SURGAD_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Default: info; warning for a staff command whose stderr is a terminal.",
)
@click.version_option(package_name="surgad")
@click.pass_context
def cli(ctx: click.Context, paths: tuple[str, ...], log_level: str | None) -> None:
    """SMS complaint line on gammu-smsd: route, forward, escalate."""
    # Staff commands keep stdout for their output; `run` logs to stdout below.
    logs.setup(logs.staff_level(log_level, sys.stderr), sys.stderr)
    paths_or_default = config.given_paths(paths) or config.default_paths()
    ctx.obj = cli_state.State(paths_or_default, log_level or "info")


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
@cli_state.pass_state
def run(state: cli_state.State, once: bool, workers: int | None) -> None:
    """Run the daemon: worker pool, inbox polling and watchdog."""
    logs.setup(state.log_level, sys.stdout)
    settings = state.settings
    pool = supervisor.Supervisor(
        settings, workers or settings.workers, once, state.log_level
    )
    sys.exit(pool.run())


@cli.group()
def db() -> None:
    """Create, upgrade and check the database."""


@db.command("init")
@cli_state.pass_state
def db_init(state: cli_state.State) -> None:
    """Create gammu's schema (v17) if absent and migrate surgad's tables."""
    engine = state.engine(check_schema=False)
    db_engine.ping(engine)  # a file that is no database, a server that is away
    heads = {code: unit.heads for code, unit in state.settings.units.items()}
    with schema.one_at_a_time(engine):
        done = schema.init(engine)
        with db_engine.writing(engine) as conn:
            if seeded := db_directory.seed_heads(conn, heads, clock.utc_now()):
                done.append(f"registered {seeded} unit head numbers from the unit file")
    click.echo("\n".join(done) if done else "database is up to date")


@db.command("check")
@cli_state.pass_state
def db_check(state: cli_state.State) -> None:
    """Check that the database answers and both schemas are current."""
    state.engine()
    click.echo("database ok")


@cli.command("watchdog")
@click.option("--json", "as_json", is_flag=True)
@cli_state.pass_state
def watchdog_cmd(state: cli_state.State, as_json: bool) -> None:
    """Escalate what is overdue now, send due reminders and the digest; exit."""
    engine = state.engine()
    tables = gammu.tables(engine.dialect.name)
    escalated = watchdog.scan(engine, tables, state.settings)
    digest = watchdog.digest(engine, tables, state.settings)
    if as_json:
        click.echo(json.dumps({"escalated": escalated, "digest_sent": digest}))
    else:
        click.echo(f"escalated {escalated}" + ("; digest sent" if digest else ""))


@cli.command("classify")
@click.argument("text", required=False, callback=cli_state.utf8_text("the text"))
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV file with a 'text' column; prints one unit code per row.",
)
@click.option("--json", "as_json", is_flag=True)
@cli_state.pass_state
def classify_cmd(
    state: cli_state.State, text: str | None, csv_path: Path | None, as_json: bool
) -> None:
    """Show which unit a text would be routed to."""
    if (text is None) == (csv_path is None):
        raise click.UsageError("give either TEXT or --csv FILE")
    engine = classifier.Classifier.from_config(state.settings.lexicon)
    texts = [text] if text is not None else _csv_texts(csv_path)
    for item in texts:
        found = engine.route(item, state.settings.triage_threshold)
        code = found.code or "NONE"
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


def _csv_texts(path: Path | None) -> list[str]:
    assert path is not None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise click.BadParameter("the CSV has no 'text' column", param_hint="--csv")
            return [row["text"] or "" for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise click.BadParameter(f"not a UTF-8 CSV file ({exc})", param_hint="--csv") from None


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@cli_state.pass_state
def stats(state: cli_state.State, as_json: bool) -> None:
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


for _command in (cli_staff.complaints, cli_admin.units, cli_admin.heads,
                 cli_admin.senders, cli_admin.report, cli_admin.modems):
    cli.add_command(_command)


def _fail(message: str, code: int) -> NoReturn:
    # A value echoed unquoted, such as a config path, may hold bytes that
    # are not UTF-8: shown as escapes, not as the surrogates Python reads.
    lines = (errors.readable(line.strip()) for line in message.splitlines())
    click.echo(f"surgad: error: {'; '.join(line for line in lines if line)}", err=True)
    sys.exit(code)


def _shown_arguments(message: str, args: list[str]) -> str:
    """Show the command-line values click repeats in its messages as surgad would.

    A long value is cut; bytes that are not UTF-8 are shown as escapes.
    """
    values = set(args) | {arg.partition("=")[2] for arg in args if arg.startswith("--")}
    for value in sorted(values, key=len, reverse=True):
        if errors.shown(value) != repr(value):
            message = message.replace(repr(value), errors.shown(value))
            message = message.replace(value, errors.readable(errors.cut(value)))
    return message


def main() -> None:
    """Run the CLI; turn every expected error into one line and an exit status."""
    try:
        cli.main(standalone_mode=False, auto_envvar_prefix="SURGAD")
    except click.exceptions.Abort:
        _fail("aborted", ExitCode.FAILURE)
    except click.ClickException as exc:
        _fail(_shown_arguments(exc.format_message(), sys.argv[1:]), ExitCode.USAGE)
    except SurgadError as exc:
        _fail(str(exc), exc.exit_code)
    except sa.exc.OperationalError as exc:
        _fail(f"database: {db_engine.one_line(exc)}", ExitCode.DATABASE)
    except BrokenPipeError:
        # The reader went away (`surgad complaints list | head -1`): it has
        # what it wanted, so stop without a word, like other command-line tools.
        _discard_output()
        sys.exit(ExitCode.FAILURE)
    except OSError as exc:
        if not _raised_printing(exc):
            raise
        _discard_output()
        _fail(f"cannot write the output: {exc.strerror or exc}", ExitCode.FAILURE)


def _raised_printing(error: BaseException) -> bool:
    """Tell whether ``error`` came from printing (a full disk, a closed terminal)."""
    frames = error.__traceback__
    while frames is not None:
        if frames.tb_frame.f_code is click.echo.__code__:
            return True
        frames = frames.tb_next
    return False


def _discard_output() -> None:
    """Point standard output at /dev/null, so its last flush at exit cannot fail.

    Otherwise Python reports the unwritten rest on stderr as it exits.
    """
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file: nothing flushes it at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
