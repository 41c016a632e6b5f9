"""Rebuilding messages from gammu inbox rows, and settling the rest."""

from __future__ import annotations

import dataclasses
import datetime as dt

from surgad import codec, intake
from surgad.db import models

T0 = dt.datetime(2026, 12, 4, 9, 0, 0)
NOW = dt.datetime(2026, 12, 4, 2, 0, 30)  # database clock (UTC in SQLite)
HOLD = 600.0
CITIZEN = "081234567890"


def hexed(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def row(
    row_id: int,
    text: str = "jalan rusak",
    sender: str = CITIZEN,
    udh: str = "",
    coding: str = "Default_No_Compression",
    sms_class: int = -1,
    stored: dt.datetime = NOW,
    received: dt.datetime = T0,
    text_hex: str | None = None,
) -> intake.InboxRow:
    return intake.InboxRow(
        id=row_id,
        received=received,
        stored=stored,
        text_hex=hexed(text) if text_hex is None else text_hex,
        sender=sender,
        coding=coding,
        udh=udh,
        sms_class=sms_class,
    )


def parts_of(text: str, reference: int, first_id: int) -> list[intake.InboxRow]:
    pieces = codec.split(text, reference)
    return [row(first_id + i, p.text, udh=p.udh) for i, p in enumerate(pieces)]


def sort(
    rows: list[intake.InboxRow],
    known: dict[str, int] | None = None,
    now: dt.datetime = NOW,
) -> intake.Sorting:
    return intake.sort_rows(rows, known or {}, now, HOLD)


LONG = (
    "Yth. Bapak Wali Kota, jalan di depan SD negeri kami berlubang besar " * 6
).strip()


def test_single_sms_becomes_message_with_e164_sender() -> None:
    """A plain SMS is one message; its sender is normalised to E.164."""
    sorting = sort([row(1)])
    assert [m.text for m in sorting.messages] == ["jalan rusak"]
    assert sorting.messages[0].sender == "+6281234567890"


def test_parts_in_any_order_make_one_exact_message() -> None:
    """Three parts stored out of order rebuild the exact text, once."""
    rows = parts_of(LONG, 77, 10)
    sorting = sort([rows[2], rows[0], rows[1]])
    assert len(sorting.messages) == 1
    assert sorting.messages[0].text == LONG
    assert not sorting.messages[0].incomplete


def test_messages_come_in_the_order_their_first_rows_were_stored() -> None:
    """A long SMS is decided before a single SMS stored after its parts."""
    sorting = sort([row(5, "tolong"), *parts_of(LONG, 77, 10), row(20, "CEK")])
    assert [m.text for m in sorting.messages] == ["tolong", LONG, "CEK"]


def test_emoji_split_across_parts_survives() -> None:
    """A surrogate pair cut between two parts' Text hex is restored."""
    text = "🙏" * 40  # 80 UTF-16 units: two UCS-2 parts
    units = hexed(text)
    first, second = units[: 67 * 4], units[67 * 4 :]  # cut after a high surrogate
    rows = [
        row(1, text_hex=first, udh="050003010201", coding="Unicode_No_Compression"),
        row(2, text_hex=second, udh="050003010202", coding="Unicode_No_Compression"),
    ]
    sorting = sort(rows)
    assert sorting.messages[0].text == text


def test_missing_part_is_held_within_window() -> None:
    """A part whose siblings have not arrived waits inside the hold window."""
    rows = parts_of(LONG, 5, 1)[1:]
    sorting = sort(rows)
    assert not sorting.messages
    assert {r.id for r in sorting.held} == {r.id for r in rows}


def test_missing_part_opens_incomplete_after_window() -> None:
    """After the hold window the parts that came open one incomplete message."""
    rows = parts_of(LONG, 5, 1)
    late = NOW + dt.timedelta(seconds=HOLD + 1)
    sorting = sort([rows[0], rows[2]], now=late)
    (message,) = sorting.messages
    assert message.incomplete
    assert intake.GAP.strip() in message.text
    assert message.text.startswith(codec.split(LONG, 5)[0].text)


def test_reused_reference_makes_two_messages() -> None:
    """Two long SMS with the same reference from one sender stay apart."""
    first = parts_of(LONG, 9, 1)
    other_text = LONG.replace("berlubang", "banjir")
    second = [
        intake.InboxRow(**{**r.__dict__, "received": T0 + dt.timedelta(minutes=5)})
        for r in parts_of(other_text, 9, 10)
    ]
    sorting = sort(first + second)
    assert sorted(m.text for m in sorting.messages) == sorted([LONG, other_text])


def test_duplicate_rows_settle_as_duplicates() -> None:
    """gammu's repeated insert of one SMS yields one message and duplicates."""
    sorting = sort([row(1), row(2), row(3)])
    assert len(sorting.messages) == 1
    assert [(s.row.id, s.outcome, s.duplicate_of) for s in sorting.settled] == [
        (2, models.DUPLICATE, 1),
        (3, models.DUPLICATE, 1),
    ]


def test_duplicate_of_row_already_on_record() -> None:
    """A copy of an SMS handled in an earlier batch is a duplicate of that row."""
    original = row(1)
    sorting = sort([row(8)], known={intake.fingerprint(original): 1})
    assert sorting.settled[0].outcome == models.DUPLICATE
    assert sorting.settled[0].duplicate_of == 1


def test_same_text_at_another_time_is_not_duplicate() -> None:
    """The same words sent again later are a new SMS."""
    later = row(2, received=T0 + dt.timedelta(minutes=1))
    assert len(sort([row(1), later]).messages) == 2


def test_operator_and_service_senders_are_non_citizen() -> None:
    """Operator, short-code, USSD and binary messages are never answered."""
    rows = [
        row(1, "Promo kuota 10GB", sender="TELKOMSEL"),
        row(2, "Sisa pulsa Rp 500", sender="3"),
        row(3, "Saldo anda", sender="", sms_class=127),
        row(4, coding="8bit", text_hex="0102FF"),
    ]
    sorting = sort(rows)
    assert not sorting.messages
    assert {s.outcome for s in sorting.settled} == {models.NON_CITIZEN}


def test_malformed_rows_are_rejected_with_reason() -> None:
    """Empty and non-hex rows are rejected, each with a reason."""
    rows = [
        row(1, text="\n"),
        row(2, text=""),
        row(3, text_hex="ZZZZ"),
        row(4, text="   "),
    ]
    sorting = sort(rows)
    assert not sorting.messages
    assert all(s.outcome == models.REJECTED and s.reason for s in sorting.settled)
    assert len(sorting.settled) == 4


def test_same_row_read_twice_counts_once() -> None:
    """A row read both in the batch and as a sibling part is handled once."""
    rows = parts_of(LONG, 3, 1)
    sorting = sort(rows + rows[:1])
    assert len(sorting.messages) == 1
    assert not sorting.settled


def test_a_row_with_a_defect_is_rejected_for_it_and_is_no_one_s_original() -> None:
    """Two unreadable rows that look alike are both rejected, neither a copy."""
    unreadable = dataclasses.replace(row(2), defect="Class 'abc' cannot be read")
    twin = dataclasses.replace(unreadable, id=3)
    sorting = sort([row(1, sender="081298765432"), unreadable, twin])
    assert [m.rows[0].id for m in sorting.messages] == [1]
    assert [(s.row.id, s.outcome, s.reason) for s in sorting.settled] == [
        (2, models.REJECTED, "unreadable row: Class 'abc' cannot be read"),
        (3, models.REJECTED, "unreadable row: Class 'abc' cannot be read"),
    ]
    assert 2 not in sorting.keys and 3 not in sorting.keys
