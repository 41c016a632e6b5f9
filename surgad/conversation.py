"""Decide what each citizen, head or mayor SMS causes, inside one batch.

The worker hands over the batch's rebuilt messages with their classification
and an open write transaction. Commands, follow-ups and reopenings are applied
one by one (they read the complaint they name); new complaints are collected
and inserted together at the end, so the common case stays batched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from typing import Any

import sqlalchemy as sa

from surgad import (
    actions,
    classifier,
    commands,
    directory,
    identity,
    intake,
    lazy,
    messages,
    tickets,
)
from surgad.config import Settings
from surgad.db import complaints, inbox, models, outbox
from surgad.errors import NoHeadsError, RepeatedError, StateError

HOUR = dt.timedelta(hours=1)
LATE_PART_WINDOW = dt.timedelta(days=1)
LIST_LIMIT = 40
# Our own texts start like this; an auto-responder echoing them must not get
# an answer, or two machines would text each other forever.
_ECHO = re.compile(r"^\s*(SURGA\b|ESKALASI SURGA|TEGURAN WALI KOTA)", re.IGNORECASE)


@dataclasses.dataclass(slots=True)
class NewComplaint:
    """A complaint to open for one message."""

    message: intake.Message
    text: str
    unit: str
    confidence: float
    kelurahan: str | None
    triage: bool
    nik: str | None = None
    name: str | None = None
    acknowledge: bool = True
    # Same-topic SMS from the same number later in the same batch.
    additions: list[intake.Message] = dataclasses.field(default_factory=list)

    def full_text(self) -> str:
        """Return the complaint text with this batch's additions appended."""
        return self.text + "".join(
            "\n+ " + identity.split(m.text).body for m in self.additions
        )


class Reading:
    """What a message's text says, each part worked out on first use.

    All of it depends on the text alone, so workers may compute it while
    another holds the write lock; most messages need only a few of the parts
    (a new complaint is never asked whether it says "not fixed").
    """

    def __init__(self, text: str, found: classifier.Classification) -> None:
        self.text = text
        self.found = found

    @lazy.once
    def echo(self) -> bool:
        return bool(_ECHO.match(self.text))

    @lazy.once
    def head(self) -> commands.Command | None:
        return commands.parse_head(self.text)

    @lazy.once
    def citizen(self) -> commands.Command | None:
        return commands.parse_citizen(self.text)

    @lazy.once
    def command_word(self) -> str | None:
        return commands.citizen_word(self.text)

    @lazy.once
    def not_fixed(self) -> bool:
        return commands.says_not_fixed(self.text)

    @lazy.once
    def quoted(self) -> str | None:
        return commands.quoted_ticket(self.text)

    @lazy.once
    def parts(self) -> identity.Split:
        return identity.split(self.text)


def read(text: str, found: classifier.Classification) -> Reading:
    """Return the reading of one message's text (see ``Reading``)."""
    return Reading(text, found)


class NeedsLock(Exception):
    """A message needs the database to decide, which a dry run cannot give it."""


@dataclasses.dataclass(frozen=True)
class SenderState:
    """What a batch's decisions read about its senders, read once per batch."""

    senders: frozenset[str]
    opened: dict[str, int]  # complaints and follow-ups in the last hour
    replies: dict[str, int]  # logged automatic replies in the last hour
    latest: dict[str, models.Complaint]  # each sender's newest complaint

    @classmethod
    def read(cls, conn: sa.Connection, senders: set[str], now: dt.datetime) -> SenderState:
        opened, replies = complaints.hourly_counts(conn, senders, now - HOUR)
        return cls(
            frozenset(senders), opened, replies, complaints.latest_by_citizen(conn, senders)
        )

    def same_as(self, other: SenderState) -> bool:
        """Tell whether two readings would lead every decision the same way."""
        return (
            self.senders == other.senders
            and self.opened == other.opened
            and self.replies == other.replies
            and _columns(self.latest) == _columns(other.latest)
        )


def _columns(latest: dict[str, models.Complaint]) -> dict[str, tuple[Any, ...]]:
    names = complaints.complaint.c.keys()
    return {number: tuple(getattr(c, name) for name in names) for number, c in latest.items()}


class Batch:
    """Collect what one batch writes: complaints, SMS, outcomes, events.

    A dry batch decides on a read snapshot without the write lock. It may only
    use what ``SenderState`` holds: any message that needs the database itself
    (a command naming a ticket, a follow-up, a reopening, a late part) raises
    NeedsLock, and the batch is decided again inside the write transaction.
    """

    def __init__(
        self,
        conn: sa.Connection,
        settings: Settings,
        roster: directory.Directory,
        now: dt.datetime,
        state: SenderState,
        dry: bool = False,
    ) -> None:
        self._conn = conn
        self.dry = dry
        self.settings = settings
        self.roster = roster
        self.now = now
        self.state = state
        self.new: list[NewComplaint] = []
        self.pending: dict[str, NewComplaint] = {}
        self.sms: list[outbox.Sms] = []
        self.outcomes: list[tuple[Any, ...]] = []
        self.events: list[dict[str, Any]] = []
        self.changes: list[dict[str, str]] = []  # by actions, logged after commit
        self.opened: Counter[str] = Counter(state.opened)
        # Replies in the last hour: the logged ones plus one acknowledgement per
        # complaint opened (acknowledgements are not logged a second time).
        self.replied: Counter[str] = self.opened + Counter(state.replies)
        self.reply_log: list[str] = []
        # Each citizen's latest complaint, read once per batch; dropped for a
        # number as soon as this batch changes one of its complaints.
        self.latest: dict[str, models.Complaint | None] = dict(state.latest)
        self.latest.update({n: None for n in state.senders if n not in self.latest})

    @property
    def conn(self) -> sa.Connection:
        """Return the write transaction; a dry batch has none to give."""
        if self.dry:
            raise NeedsLock
        return self._conn

    def latest_of(self, number: str) -> models.Complaint | None:
        """Return a number's most recent complaint."""
        if number not in self.latest:
            self.latest[number] = complaints.latest_of(self.conn, number)
        return self.latest[number]

    # -- replies under the hourly limit ---------------------------------------

    def reply(self, number: str, text: str, kind: str, ticket: str | None = None) -> bool:
        """Queue an automatic reply unless the number reached its hourly limit."""
        if self.replied[number] >= self.settings.replies_per_hour:
            return False
        self.replied[number] += 1
        self.reply_log.append(number)
        self.sms.append(outbox.Sms(number, text, outbox.creator(kind, ticket)))
        return True

    def settle(self, message: intake.Message, outcome: str, keys: dict[int, str],
               reason: str | None = None, complaint_id: int | None = None) -> None:
        """Record the outcome of every inbox row of a message."""
        for row in message.rows:
            self.outcomes.append(inbox.outcome(
                row.id, outcome, self.now, keys.get(row.id), reason, complaint_id
            ))

    def act(self, actor: str) -> actions.Act:
        self.latest.clear()  # an action may change any number's complaint
        return actions.Act(
            self.conn, self.settings, self.roster, actor, self.now, self.changes
        )

    # -- the decision ----------------------------------------------------------

    def handle(self, message: intake.Message, reading: Reading,
               keys: dict[int, str]) -> None:
        """Decide and apply what one message causes."""
        number, found = message.sender, reading.found
        if number in self.roster.blocked:
            return self.settle(message, models.REJECTED, keys, "blocked sender")
        if reading.echo:
            return self.settle(message, models.NOT_COMPLAINT, keys, "echo of an automatic reply")
        command = reading.head
        if command and self.roster.is_staff(number):
            return self._staff(message, command, keys)
        if command and command.ticket and command.kind is not commands.Kind.MALFORMED:
            # A head's command from anyone else: refuse, revealing nothing.
            answered = self.reply(number, messages.head_refused(command.ticket), "refused")
            self.settle(message, models.COMMAND, keys,
                        _noting_silence("refused: not a head", answered))
            return None
        if command := reading.citizen:
            return self._citizen_command(message, command, keys)
        if self._late_part(message, keys):
            return None
        if self._follow_up(message, reading, keys) or self._reopen_free(message, reading, keys):
            return None
        if found.code is None:
            return self._not_complaint(message, reading, keys)
        self._open(message, reading, keys)
        return None

    def _open(self, message: intake.Message, reading: Reading, keys: dict[int, str]) -> None:
        number, found = message.sender, reading.found
        if self.opened[number] >= self.settings.complaints_per_hour:
            self.settle(message, models.REJECTED, keys, "over the hourly complaint limit")
            return
        self.opened[number] += 1
        parts = reading.parts
        nik, name, text = parts.nik, parts.name, parts.body
        # The classifier's route() already sent low-confidence text to triage.
        triage = found.code == self.settings.triage_unit or found.code not in self.settings.units
        unit = self.settings.triage_unit if triage else str(found.code)
        acknowledge = self.replied[number] < self.settings.replies_per_hour
        if acknowledge:
            self.replied[number] += 1
        new = NewComplaint(message, text.strip(), unit, found.confidence,
                           found.kelurahan, triage, nik, name, acknowledge)
        self.new.append(new)
        self.pending[number] = new

    def _not_complaint(self, message: intake.Message, reading: Reading,
                       keys: dict[int, str]) -> None:
        """Record a message that is no complaint; answer a referral or a bad command.

        A text that starts with a citizen command word but is not that command
        ("CEK abc") gets the command's format, so the citizen can try again.
        """
        answered, reason = True, reading.found.kind
        if reason == classifier.REFERRAL:
            answered = self.reply(message.sender, messages.referral(), "referral")
        elif word := reading.command_word:
            answered = self.reply(message.sender, _format_help(word), "help")
            reason = f"{reason}; {word} format sent"
        self.settle(message, models.NOT_COMPLAINT, keys, _noting_silence(reason, answered))

    # -- citizens --------------------------------------------------------------

    def _citizen_command(self, message: intake.Message, command: commands.Command,
                         keys: dict[int, str]) -> None:
        """Answer a citizen's command; it joins the history of the complaint it names.

        ``CEK`` and ``BELUM`` without a ticket are about the sender's latest
        complaint.
        """
        number = message.sender
        complaint = None
        if command.kind is commands.Kind.HELP:
            answered = self.reply(number, messages.help_text(), "help")
        else:
            complaint = (self._own(number, command.ticket) if command.ticket
                         else self.latest_of(number))
            if command.kind is commands.Kind.REOPEN and complaint is not None:
                answered = self._reopen(message, complaint, command.argument)
            else:
                answered = self.reply(number, self._status_text(complaint, command.ticket),
                                      "status", _ticket_of(complaint))
        self.settle(message, models.COMMAND, keys,
                    _noting_silence(command.kind.value, answered),
                    complaint.id if complaint else None)

    def _status_text(self, complaint: models.Complaint | None, ticket: str | None) -> str:
        if complaint is not None:
            return self._describe(complaint)
        return messages.status_unknown() if ticket else messages.no_complaints()

    def _describe(self, complaint: models.Complaint) -> str:
        assert complaint.id is not None
        return messages.status(tickets.encode(complaint.id),
                               self._unit_short(complaint.unit_code),
                               complaint.status, complaint.last_note)

    def _unit_short(self, code: str) -> str:
        unit = self.settings.units.get(code)
        return unit.short if unit else code

    def _own(self, number: str, ticket: str) -> models.Complaint | None:
        """Return the complaint of a ticket only if this number filed it."""
        complaint_id = tickets.decode(ticket)
        found = complaints.get(self.conn, complaint_id) if complaint_id else None
        return found if found is not None and found.citizen == number else None

    def _reopen(self, message: intake.Message, complaint: models.Complaint,
                reason: str) -> bool:
        """Reopen a citizen's complaint, or say where it stands; False if unanswered."""
        try:
            self.sms += actions.reopen(self.act(message.sender), complaint, reason)
        except StateError:
            return self.reply(message.sender, self._describe(complaint), "status",
                              _ticket_of(complaint))
        return True

    def _reopen_free(self, message: intake.Message, reading: Reading,
                     keys: dict[int, str]) -> bool:
        """Reopen the latest resolved complaint when the citizen says it is not fixed."""
        latest = self.latest_of(message.sender)
        window = dt.timedelta(days=self.settings.reopen_window)
        if (latest is None or latest.status != models.RESOLVED or latest.resolved_at is None
                or self.now - latest.resolved_at > window or not reading.not_fixed):
            return False
        try:
            self.sms += actions.reopen(self.act(message.sender), latest, message.text)
        except StateError:
            return False
        self.settle(message, models.FOLLOWUP, keys, "reopened", latest.id)
        return True

    def _follow_up(self, message: intake.Message, reading: Reading,
                   keys: dict[int, str]) -> bool:
        """Append a message that continues an open complaint of the same number."""
        found = reading.found
        target = self._continues(message, reading)
        pending = self.pending.get(message.sender)
        joins_pending = (
            pending is not None
            and found.code == pending.unit
            and self.settings.followup_window > 0
        )
        if target is None and not joins_pending:
            return False
        if self.opened[message.sender] >= self.settings.complaints_per_hour:
            self.settle(message, models.REJECTED, keys, "over the hourly complaint limit")
            return True
        self.opened[message.sender] += 1
        if target is None and pending is not None:
            pending.additions.append(message)  # written with the new complaint
            return True
        assert target is not None
        self._add_to(target, message, keys, "followup", None)
        return True

    def _late_part(self, message: intake.Message, keys: dict[int, str]) -> bool:
        """Add parts of a long SMS that came after its complaint was opened."""
        if not (message.incomplete and message.concat_key):
            return False
        target = complaints.incomplete_for(
            self.conn, message.sender, message.concat_key, self.now - LATE_PART_WINDOW
        )
        if target is None:
            return False
        self._add_to(target, message, keys, "late_part", "late part of a long SMS")
        return True

    def _add_to(self, target: models.Complaint, message: intake.Message,
                keys: dict[int, str], action: str, reason: str | None) -> None:
        """Append a message to a complaint and pass it to the unit's heads."""
        assert target.id is not None
        ticket = tickets.encode(target.id)
        self.latest.pop(message.sender, None)
        complaints.append_text(self.conn, target.id, identity.split(message.text).body)
        self.events.append({"complaint_id": target.id, "at": self.now, "actor": "citizen",
                            "action": action, "detail": message.text})
        text = messages.followup(ticket, identity.split(message.text).body, message.sender,
                                 self.settings.mask_citizen_numbers)
        # A unit without heads has its complaints sent to the mayor: additions too.
        to = self.roster.heads_of(target.unit_code) or self.settings.mayor_numbers
        self.sms += [outbox.Sms(number, text, outbox.creator("forward", ticket))
                     for number in to]
        self.settle(message, models.FOLLOWUP, keys, reason, target.id)

    def _continues(self, message: intake.Message, reading: Reading) -> models.Complaint | None:
        found = reading.found
        if quoted := reading.quoted:
            own = self._own(message.sender, quoted)
            return own if own is not None and own.status != models.RESOLVED else None
        since = self.now - dt.timedelta(hours=self.settings.followup_window)
        latest = self.latest_of(message.sender)
        if (latest is None or latest.status == models.RESOLVED
                or latest.created_at < since or found.code is None):
            return None
        return latest if found.code == latest.unit_code else None

    # -- heads and the mayor ---------------------------------------------------

    def _staff(self, message: intake.Message, command: commands.Command,
               keys: dict[int, str]) -> None:
        number = message.sender
        if command.kind is commands.Kind.MALFORMED:
            codes = " ".join(sorted(self.settings.units)) if command.word == "ALIH" else ""
            self._tell(number, messages.head_format(
                command.word, commands.HEAD_FORMATS[command.word], codes))
        elif command.kind is commands.Kind.LIST:
            self._list(number)
        else:
            self._ticket_command(message, command, keys)
            return
        self.settle(message, models.COMMAND, keys, command.kind.value)

    def _tell(self, number: str, text: str, ticket: str | None = None) -> None:
        """Answer staff; their replies are not counted against the citizen limit."""
        self.sms.append(outbox.Sms(number, text, outbox.creator("staff", ticket)))

    def _ticket_command(self, message: intake.Message, command: commands.Command,
                        keys: dict[int, str]) -> None:
        """Apply a head's or the mayor's command on a ticket, and answer them.

        The command and its answer join the complaint's history only when the
        sender may act on it.
        """
        assert command.ticket is not None
        number = message.sender
        complaint = self._complaint(command.ticket)
        allowed = complaint is not None and self._may_act(number, command, complaint)
        mine = complaint if allowed else None
        self.settle(message, models.COMMAND, keys, command.kind.value, mine.id if mine else None)
        if complaint is not None and self._moved_away(number, command, complaint, allowed):
            return
        if complaint is None or not allowed:
            self._tell(number, messages.head_refused(command.ticket))
            return
        ticket = _ticket_of(complaint)
        if command.kind is commands.Kind.REASSIGN and not self._known_unit(command):
            codes = " ".join(sorted(self.settings.units))
            self._tell(number, messages.head_format("ALIH", commands.HEAD_FORMATS["ALIH"], codes),
                       ticket)
            return
        try:
            self.sms += self._apply(number, command, complaint)
        except NoHeadsError:
            short = self._unit_short(complaint.unit_code)
            self._tell(number, messages.no_heads(command.word, command.ticket, short), ticket)
            return
        except RepeatedError:
            self._tell(number, messages.head_repeated(command.word, command.ticket), ticket)
            return
        except StateError:
            self._tell(number, messages.head_state(command.ticket, complaint.status), ticket)
            return
        self._tell(number, messages.head_done(command.word, command.ticket), ticket)

    def _known_unit(self, command: commands.Command) -> bool:
        return _target(command) in self.settings.units

    def _complaint(self, ticket: str) -> models.Complaint | None:
        complaint_id = tickets.decode(ticket)
        return complaints.get(self.conn, complaint_id) if complaint_id else None

    def _may_act(self, number: str, command: commands.Command,
                 complaint: models.Complaint) -> bool:
        """Tell whether this number may act on the complaint."""
        if command.kind is commands.Kind.REPRIMAND:
            return number in self.roster.mayors
        return complaint.unit_code in self.roster.units_of.get(number, ())

    def _moved_away(self, number: str, command: commands.Command,
                    complaint: models.Complaint, allowed: bool) -> bool:
        """Answer a head's command on a ticket their unit already reassigned.

        The reassignment took the ticket out of the unit's hands: a second
        ALIH, or a command sent after it, is told where the ticket went rather
        than refused as if the ticket had never been the unit's.
        """
        alih = command.kind is commands.Kind.REASSIGN
        if command.kind is commands.Kind.REPRIMAND:
            return False
        if allowed and not (alih and _target(command) == complaint.unit_code):
            return False  # a head of both units may still act, unless it repeats
        assert complaint.id is not None
        units = self.roster.units_of.get(number, ())
        moved_to = complaints.moved_out_of(self.conn, complaint.id, units)
        if moved_to is None:
            return False
        repeat = alih and _target(command) == moved_to
        if allowed and not repeat:
            return False  # it came back to a unit of theirs by another way
        self._tell(number, messages.head_moved(
            command.word, command.ticket or "", self._unit_short(moved_to), repeat))
        return True

    def _apply(self, number: str, command: commands.Command,
               complaint: models.Complaint) -> list[outbox.Sms]:
        act = self.act(number)
        kind = command.kind
        if kind is commands.Kind.ACCEPT:
            return actions.accept(act, complaint)
        if kind is commands.Kind.PROGRESS:
            return actions.progress(act, complaint, command.argument)
        if kind is commands.Kind.RESOLVE:
            return actions.resolve(act, complaint, command.argument)
        if kind is commands.Kind.REASSIGN:
            reason = command.argument.partition(" ")[2]
            return actions.reassign(act, complaint, _target(command), reason.strip())
        return actions.reprimand(act, complaint)

    def _list(self, number: str) -> None:
        units = self.roster.units_of.get(number, ())
        if number in self.roster.mayors and not units:
            units = tuple(self.settings.units)
        items: list[str] = []
        total = 0
        for unit in units:
            open_items = complaints.open_for_unit(self.conn, unit, LIST_LIMIT)
            total += complaints.count_open(self.conn, unit)
            items += [tickets.encode(c.id or 0) + ("!" if c.deadline_at <= self.now else "")
                      for c in open_items]
        shown = sorted(items, key=lambda item: not item.endswith("!"))[:LIST_LIMIT]
        names = "/".join(units) if len(units) <= 3 else "semua unit"
        self._tell(number, messages.head_list(names, shown, total))


def _target(command: commands.Command) -> str:
    """Return the unit code an ALIH names (its first word, upper-cased)."""
    return command.argument.partition(" ")[0].upper()


def _format_help(word: str) -> str:
    """Return the answer to a text that starts like a citizen's command but is not it."""
    if word == "INFO":
        return messages.help_text()
    return messages.citizen_format(commands.CITIZEN_FORMATS[word])


def _ticket_of(complaint: models.Complaint | None) -> str | None:
    """Return a complaint's ticket, to tag the SMS about it (None for none)."""
    return tickets.encode(complaint.id) if complaint is not None and complaint.id else None


# What a recorded outcome adds when its automatic reply was held back.
UNANSWERED = "not answered: over the hourly reply limit"


def _noting_silence(reason: str, answered: bool) -> str:
    """Return an outcome's reason, saying so when its reply was held back."""
    return reason if answered else f"{reason}; {UNANSWERED}"
