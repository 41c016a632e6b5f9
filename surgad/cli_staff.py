"""Staff commands on complaints: the same actions unit heads take by SMS."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from surgad import (
    actions,
    cli_state,
    clock,
    codec,
    errors,
    escalation,
    messages,
    tickets,
)
from surgad.cli_state import State, pass_state
from surgad.db import complaints as db_complaints
from surgad.db import engine as db_engine
from surgad.db import gammu, history, models, outbox


@click.group("complaints")
def complaints() -> None:
    """List, show and change complaints."""


@complaints.command("list")
@click.option("--status", type=click.Choice(models.STATES))
@click.option("--unit", help="Unit code, e.g. PUPR.")
@click.option("--overdue", is_flag=True, help="Only open complaints past their deadline.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: State, status: str | None, unit: str | None, overdue: bool, limit: int,
          as_json: bool) -> None:
    """List complaints, newest first."""
    code = _unit(state, unit) if unit else None
    with db_engine.reading(state.engine()) as conn:
        found = db_complaints.listing(
            conn, status=status, unit=code,
            overdue_at=clock.utc_now() if overdue else None, limit=limit,
        )
    rows = [_public(item, state) for item in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    cli_state.table(rows, ["ticket", "status", "unit", "received", "deadline", "text"],
                    "no complaints")


@complaints.command("show")
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def show(state: State, ticket: str, as_json: bool) -> None:
    """Show one complaint."""
    with db_engine.reading(state.engine()) as conn:
        record = _public(actions.find(conn, ticket), state, full=True)
    if as_json:
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    for key, value in record.items():
        click.echo(f"{key:>15}: {cli_state.printable(value) if value is not None else ''}")


@complaints.command("history")
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def history_(state: State, ticket: str, as_json: bool) -> None:
    """Show a complaint's timeline: SMS in and out, and every action."""
    engine = state.engine()
    tables = gammu.tables(engine.dialect.name)
    with db_engine.reading(engine) as conn:
        complaint = actions.find(conn, ticket)
        assert complaint.id is not None
        code = tickets.encode(complaint.id)
        events = db_complaints.history(conn, complaint.id)
        received = history.sms_in(conn, tables, complaint.id)
        sent = history.sms_out(conn, tables, code)
    # Where it went is what was recorded: an escalation made as it was created
    # (its unit had no heads) sent it to the mayor instead of the unit's heads.
    reason = escalation.recorded_at(events, complaint.created_at)
    went = f"sent to the mayor: {reason}" if reason else "forwarded to the unit heads"
    opened = {
        "at": state.local(complaint.created_at), "what": "created", "who": "surgad",
        "detail": f"classified with confidence {complaint.confidence:.2f}; {went}",
    }
    timeline = [opened] + [
        {"at": state.local(event["at"]), "what": event["action"], "who": event["actor"],
         "detail": event["detail"] or ""}
        for event in events
    ] + [
        {"at": item["received_local"].strftime("%Y-%m-%d %H:%M"), "what": "sms_in",
         "who": "citizen", "detail": f"inbox {item['inbox_id']} ({item['outcome']})"}
        for item in received
    ] + [
        {"at": state.local(item["queued_at"]), "what": f"sms_out:{item['kind']}",
         "who": item["to"], "detail": f"outbox {item['outbox_id']}: {item['status']}"}
        for item in sent
    ]
    timeline.sort(key=lambda item: item["at"])
    if as_json:
        click.echo(json.dumps({"ticket": code, "timeline": timeline}, indent=2,
                              ensure_ascii=False))
        return
    cli_state.table(timeline, ["at", "what", "who", "detail"], "no history")


def _run(state: State, ticket: str, operation: actions.Operation, done: str) -> None:
    actions.run(state.engine(), state.settings, ticket, cli_state.actor(), operation)
    click.echo(f"ticket {ticket} {done}")


@complaints.command("ack")
@click.argument("ticket")
@pass_state
def ack(state: State, ticket: str) -> None:
    """Record that the unit has followed up (stops the escalation clock)."""
    _run(state, ticket, actions.accept, "acknowledged; citizen notified")


# A note as the citizen's SMS will carry it, refused when empty or too long.
_NOTE = cli_state.bounded_text(
    "the note", "the citizen's SMS", messages.MAX_QUOTED, empty=False
)
NoteAction = Callable[[actions.Act, models.Complaint, str], list[outbox.Sms]]


def _noting(note: str, action: NoteAction) -> actions.Operation:
    """Run a noting action, refusing a note that makes the citizen's SMS too long.

    The SMS is measured as it will be sent, inside the transaction a refusal
    rolls back: its frame names the ticket and the unit, and one emoji in the
    note sends all of it in UCS-2, in more than twice the parts.
    """

    def operation(act: actions.Act, complaint: models.Complaint) -> list[outbox.Sms]:
        sent = action(act, complaint, note)
        for sms in sent:
            _refuse_too_many_parts(sms.text, note)
        return sent

    return operation


def _refuse_too_many_parts(text: str, note: str) -> None:
    """Refuse an SMS over MAX_NOTE_PARTS, saying how long its note may be."""
    parts = len(codec.split(text, 0))
    if parts <= messages.MAX_NOTE_PARTS:
        return
    gsm = codec.is_gsm(text)
    per_part = codec.PART_SEPTETS if gsm else codec.PART_UNITS
    frame = codec.weight(text, gsm) - codec.weight(note, gsm)
    room = messages.MAX_NOTE_PARTS * per_part - frame
    kind = (
        "of plain text" if gsm
        else "with emoji or letters outside the GSM alphabet (an emoji counts two)"
    )
    raise click.BadParameter(
        f"the note makes the citizen's SMS {parts} parts; it may take "
        f"{messages.MAX_NOTE_PARTS}: about {room:,} characters {kind}",
        param_hint="'--note'",
    )


@complaints.command("note")
@click.argument("ticket")
@click.option(
    "--note", required=True, callback=_NOTE, help="Progress note; sent to the citizen."
)
@pass_state
def note(state: State, ticket: str, note: str) -> None:
    """Record progress; the citizen is told."""
    _run(state, ticket, _noting(note, actions.progress), "noted")


@complaints.command("resolve")
@click.argument("ticket")
@click.option(
    "--note", required=True, callback=_NOTE, help="What was done; sent to the citizen."
)
@pass_state
def resolve(state: State, ticket: str, note: str) -> None:
    """Resolve a complaint and send the citizen the resolution SMS."""
    _run(state, ticket, _noting(note, actions.resolve), "resolved; citizen notified")


# Reasons on one line, as long as a quoted text in an SMS may be.
_MOVE_REASON = cli_state.bounded_text("the reason", "a history entry", messages.MAX_QUOTED)
_REOPEN_REASON = cli_state.bounded_text("the reason", "the unit's SMS", messages.MAX_QUOTED)


@complaints.command("reassign")
@click.argument("ticket")
@click.argument("unit")
@click.option("--reason", default="", callback=_MOVE_REASON,
              help="Why the complaint moves (recorded).")
@pass_state
def reassign(state: State, ticket: str, unit: str, reason: str) -> None:
    """Move a complaint to another unit, with a fresh deadline."""
    code = _unit(state, unit)
    _run(state, ticket, lambda act, c: actions.reassign(act, c, code, reason),
         f"reassigned to {code}")


@complaints.command("reopen")
@click.argument("ticket")
@click.option("--reason", default="", callback=_REOPEN_REASON,
              help="Why it is reopened (recorded; sent to the unit).")
@pass_state
def reopen(state: State, ticket: str, reason: str) -> None:
    """Reopen a resolved complaint; the unit and the citizen are told."""
    _run(state, ticket, lambda act, c: actions.reopen(act, c, reason), "reopened")


def _unit(state: State, unit: str) -> str:
    code = unit.upper()
    if code not in state.settings.units:
        known = " ".join(sorted(state.settings.units))
        raise click.BadParameter(
            f"unknown unit {errors.shown(unit)} (known: {known})", param_hint="UNIT"
        )
    return code


def _public(item: models.Complaint, state: State, full: bool = False) -> dict[str, Any]:
    assert item.id is not None
    record: dict[str, Any] = {
        "ticket": tickets.encode(item.id),
        "status": item.status,
        "unit": item.unit_code,
        "received": state.local(item.received_at),
        "deadline": state.local(item.deadline_at),
        "text": item.text if full else _shorten(item.text, 50),
    }
    if full:
        record.update({
            "citizen": item.citizen,
            "kelurahan": item.kelurahan,
            "confidence": round(item.confidence, 3),
            "incomplete": item.incomplete,
            "acknowledged": state.local(item.acked_at),
            "escalated": state.local(item.escalated_at),
            "resolved": state.local(item.resolved_at),
            "last_note": item.last_note,
            "resolution_note": item.resolution_note,
        })
    return record


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
