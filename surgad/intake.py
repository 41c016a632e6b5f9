"""Turn raw gammu inbox rows into messages, or settle them with a reason.

Pure: no database, no clock of its own. The worker hands in the rows it read,
the fingerprints already on record and the database's current time; this module
decides which rows are duplicates, which come from operators or services, which
are malformed, which parts of a concatenated SMS make one message, and which
parts must wait for their siblings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from surgad import codec, lazy, phone
from surgad.db import models

GAP = " [...] "


@dataclasses.dataclass(frozen=True)
class InboxRow:
    """The columns of one gammu inbox row that surgad reads."""

    id: int
    received: dt.datetime  # SMSC time stamp in gammu-smsd's local time
    stored: dt.datetime  # insert time on the database's own clock
    text_hex: str
    sender: str
    coding: str
    udh: str
    sms_class: int
    recipient: str = ""  # PhoneID of the gammu-smsd (modem) that received it
    # Why a column could not be read ("" for a sound row). Such a row was not
    # written by gammu-smsd as it writes rows; it is rejected with this reason.
    defect: str = ""

    @lazy.once
    def key(self) -> str:
        """Return what identifies the SMS as the network delivered it.

        gammu-smsd stores the same SMS again when it cannot delete it from the
        SIM; the copies agree on sender, SMSC time stamp, UDH and text, and
        differ only in their row id and insert time.

        The key leads with the SMSC time stamp and the sender: fingerprints of
        new SMS then sort after those on record, so the unique index takes a
        batch of them in a few pages at its end rather than in one page each
        all over it. 56 bits of hash tell apart two SMS of one sender in one
        second.
        """
        stamp = self.received.isoformat()
        material = "\x1f".join((self.sender, stamp, self.udh, self.text_hex.upper()))
        digest = hashlib.sha1(material.encode("utf-8")).hexdigest()
        # YYYYMMDDhhmmss out of YYYY-MM-DDThh:mm:ss, cut rather than strftime'd.
        digits = stamp[:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19]
        return f"{digits}{self.sender[-12:]:>12}{digest[:14]}"


class Message(NamedTuple):
    """One citizen SMS, rebuilt from one or more inbox rows."""

    rows: tuple[InboxRow, ...]
    sender: str  # E.164
    text: str
    received: dt.datetime  # gammu local time of the earliest part
    incomplete: bool = False
    concat_key: str | None = None


class Settled(NamedTuple):
    """An inbox row that ends here, without becoming a message."""

    row: InboxRow
    outcome: str
    reason: str
    duplicate_of: int | None = None


@dataclasses.dataclass
class Sorting:
    """What became of each row of a batch."""

    messages: list[Message] = dataclasses.field(default_factory=list)
    settled: list[Settled] = dataclasses.field(default_factory=list)
    held: list[InboxRow] = dataclasses.field(default_factory=list)
    keys: dict[int, str] = dataclasses.field(default_factory=dict)
    first_with_key: dict[str, int] = dataclasses.field(default_factory=dict)


def fingerprint(row: InboxRow) -> str:
    """Return what identifies an SMS as the network delivered it (see InboxRow.key)."""
    return row.key


def sort_rows(
    rows: Iterable[InboxRow],
    known: Mapping[str, int],
    now: dt.datetime | Callable[[], dt.datetime],
    hold_window: float,
    region: str = "ID",
) -> Sorting:
    """Sort a batch into messages, settled rows and held parts.

    ``now`` is the database's clock, or a function that reads it: it is
    needed only to tell how long an incomplete long SMS has waited.
    """
    sorting = Sorting()
    parts: list[tuple[InboxRow, codec.Concat, str]] = []
    for row in _unique(rows):
        if row.defect:
            sorting.settled.append(Settled(row, models.REJECTED, f"unreadable row: {row.defect}"))
            continue
        if (settled := _settle_duplicate(row, known, sorting)) is not None:
            sorting.settled.append(settled)
            continue
        try:
            kept = _screen(row, region)
        except _Settle as exc:
            sorting.settled.append(Settled(row, exc.outcome, exc.reason))
            continue
        if isinstance(kept, Message):
            sorting.messages.append(kept)
        else:
            parts.append((row, kept[0], kept[1]))
    if parts:
        _assemble(parts, now, hold_window, sorting)
        # One sender's messages are decided in the order they were stored: a
        # long SMS goes before a "CEK" stored after its first part.
        sorting.messages.sort(key=_first_stored)
    return sorting


def _first_stored(message: Message) -> int:
    return min(row.id for row in message.rows)


def _unique(rows: Iterable[InboxRow]) -> list[InboxRow]:
    return sorted({row.id: row for row in rows}.values(), key=lambda row: row.id)


def _settle_duplicate(
    row: InboxRow, known: Mapping[str, int], sorting: Sorting
) -> Settled | None:
    key = fingerprint(row)
    original = known.get(key)
    if original is None:
        original = sorting.first_with_key.get(key)
    if original is not None and original != row.id:
        return Settled(row, models.DUPLICATE, "same SMS stored again", original)
    sorting.keys[row.id] = key
    sorting.first_with_key.setdefault(key, row.id)
    return None


class _Settle(Exception):
    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def _screen(row: InboxRow, region: str) -> Message | tuple[codec.Concat, str]:
    """Check a row; return a whole message, or (concat info, E.164) of a part."""
    if row.coding == "8bit":
        raise _Settle(models.NON_CITIZEN, "binary message (no text)")
    kind = phone.sender_kind(row.sender, row.sms_class, row.coding)
    if kind is phone.SenderKind.SERVICE:
        raise _Settle(models.NON_CITIZEN, "service message (no sender or USSD)")
    if kind is phone.SenderKind.OPERATOR:
        raise _Settle(models.NON_CITIZEN, "operator or short-code sender")
    try:
        sender = phone.normalise(row.sender, region)
        concat = codec.parse_udh(row.udh) if row.udh else None
        if concat is not None and concat.total > 1:
            return concat, sender
        text = codec.decode_inbox_text(row.text_hex, row.coding)
    except phone.PhoneError:
        raise _Settle(models.REJECTED, "sender is not a phone number") from None
    except codec.CodecError as exc:
        raise _Settle(models.REJECTED, f"malformed SMS: {exc}") from None
    return _message((row,), sender, text)


def _message(
    rows: Sequence[InboxRow],
    sender: str,
    text: str,
    incomplete: bool = False,
    concat_key: str | None = None,
) -> Message:
    if not text.strip():
        raise _Settle(models.REJECTED, "empty message")
    received = min(row.received for row in rows)
    return Message(tuple(rows), sender, text, received, incomplete, concat_key)


# TODO: a part that arrives after its message was opened incomplete waits out
# the hold window again before it is added to that complaint (as a follow-up),
# because this module cannot see which messages were already opened.
def _assemble(
    parts: list[tuple[InboxRow, codec.Concat, str]],
    now: dt.datetime | Callable[[], dt.datetime],
    hold_window: float,
    sorting: Sorting,
) -> None:
    """Group parts into messages; hold a group still waiting for parts."""
    for key, group in _instances(parts).items():
        rows = [row for row, _ in group]
        concat = group[0][1]
        complete = len(group) == concat.total
        if not complete:
            if callable(now):
                now = now()
            if (now - min(row.stored for row in rows)).total_seconds() < hold_window:
                sorting.held.extend(rows)
                continue
        try:
            sorting.messages.append(
                _message(rows, key[0], _join(group), not complete, _concat_key(key))
            )
        except _Settle as exc:
            sorting.settled.extend(
                Settled(row, exc.outcome, exc.reason) for row in rows
            )
        except codec.CodecError as exc:
            reason = f"malformed SMS: {exc}"
            sorting.settled.extend(
                Settled(row, models.REJECTED, reason) for row in rows
            )


_InstanceKey = tuple[str, int, int, bool, int]


def _instances(
    parts: list[tuple[InboxRow, codec.Concat, str]],
) -> dict[_InstanceKey, list[tuple[InboxRow, codec.Concat]]]:
    """Split parts into messages by (sender, reference, total).

    Phones reuse references, so one key can hold two messages: a part whose
    index is already taken starts the next message with that key.
    """
    instances: dict[_InstanceKey, list[tuple[InboxRow, codec.Concat]]] = {}
    ordered = sorted(parts, key=lambda item: (item[0].received, item[0].id))
    for row, concat, sender in ordered:
        serial = 0
        while True:
            key = (sender, concat.reference, concat.total, concat.wide, serial)
            group = instances.setdefault(key, [])
            if all(other.index != concat.index for _, other in group):
                group.append((row, concat))
                break
            serial += 1
    return instances


def _join(group: list[tuple[InboxRow, codec.Concat]]) -> str:
    """Join parts' text in part order; mark where missing parts belong."""
    ordered = sorted(group, key=lambda item: item[1].index)
    runs: list[list[str]] = []
    previous = 0
    for row, concat in ordered:
        if concat.index != previous + 1 or not runs:
            runs.append([])
        runs[-1].append(row.text_hex)
        previous = concat.index
    texts = [codec.join_parts_hex(run) for run in runs]
    head = "" if ordered[0][1].index == 1 else GAP.lstrip()
    tail = "" if previous == ordered[0][1].total else GAP.rstrip()
    return head + GAP.join(texts) + tail


def _concat_key(key: _InstanceKey) -> str:
    sender, reference, total, wide, _ = key
    return f"{reference}/{total}{'w' if wide else ''}"
