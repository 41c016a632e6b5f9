"""Read the SMS commands of citizens, unit heads and the mayor.

Pure. Commands are case-insensitive and forgiving the way people type on a
basic phone: ``selesai #123``, ``Selesai 123.``, ``cek#123``, ``status aduan
123``. A text that starts like a head command but lacks its ticket or note is
``MALFORMED`` so the head can be shown the right format.

Texts are read after NFKC folding (fullwidth ``ＣＥＫ １２３`` is ``CEK 123``; see
``surgad.numerals``). A command word followed by any run of digits is that
command, whatever the number: ``BELUM 0`` or a ticket with a digit too many is
answered "not found" rather than taken for a complaint, and ``tickets.decode``
alone decides which numbers are tickets (ASCII digits only). Only a number that
counts time is no ticket: ``belum 2 minggu ...`` (not two weeks yet) is not a
reopen. Free text quotes a ticket only in ASCII digits.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from surgad import numerals


class Kind(enum.Enum):
    """What an SMS asks surgad to do."""

    STATUS = "status"
    REOPEN = "reopen"
    HELP = "help"
    ACCEPT = "accept"
    PROGRESS = "progress"
    RESOLVE = "resolve"
    REASSIGN = "reassign"
    LIST = "list"
    REPRIMAND = "reprimand"
    MALFORMED = "malformed"


@dataclasses.dataclass(frozen=True)
class Command:
    """One parsed command."""

    kind: Kind
    ticket: str | None = None
    argument: str = ""
    word: str = ""  # the command word as the sender typed it, for format help


# The format of each citizen command, shown to a text that starts with its
# word (see citizen_word) but is not the command.
CITIZEN_FORMATS = {"CEK": "CEK <tiket>", "BELUM": "BELUM <tiket>", "INFO": "INFO"}

HEAD_FORMATS = {
    "TERIMA": "TERIMA <tiket>",
    "PROSES": "PROSES <tiket> <catatan>",
    "SELESAI": "SELESAI <tiket> <catatan>",
    "ALIH": "ALIH <tiket> <KODE UNIT>",
    "DAFTAR": "DAFTAR",
    "TEGUR": "TEGUR <tiket>",
}
_HEAD_KINDS = {
    "TERIMA": Kind.ACCEPT,
    "PROSES": Kind.PROGRESS,
    "SELESAI": Kind.RESOLVE,
    "ALIH": Kind.REASSIGN,
    "TEGUR": Kind.REPRIMAND,
}
# SELESAI without a note is accepted ("Selesai 123."): the citizen gets a
# standard resolution text instead.
_NEEDS_ARGUMENT = {Kind.PROGRESS, Kind.REASSIGN}

# Any run of digits, in any script and of any length: after a command word it is
# meant as a ticket, and the answer to a bad one is "not found", not silence.
_TICKET = r"#?\s*(?P<ticket>\d+)\b"
# ...except where the number counts time: "belum 2 minggu sudah rusak lagi" (not
# two weeks yet and broken again) is a complaint, not a reopen of ticket 2.
# "hari ini" (today) after a ticket names no duration.
_TIME_UNIT = r"\s*(?:hari(?!\s+ini\b)|hr|minggu|mgg|bulan|bln|tahun|thn|jam|menit|mnt)\b"
_CITIZEN_TICKET = rf"{_TICKET}(?!{_TIME_UNIT})"
_SPAN_OF_TIME = rf"\d+{_TIME_UNIT}"
_HEAD = re.compile(
    rf"^\s*(?P<word>terima(?!\s*(?:kasih|ksh|kasi)\b)|proses|selesai|alih|tegur)\b[\s#:.,-]*"
    rf"(?:{_TICKET})?[\s.,:;-]*(?P<rest>.*?)[\s.!]*$",
    re.IGNORECASE | re.DOTALL,
)
_LIST = re.compile(r"^\s*daftar[\s.!?]*$", re.IGNORECASE)
_LIST_WORD = re.compile(r"^\s*daftar\b", re.IGNORECASE)
_HELP = re.compile(r"^\s*(info|bantuan|format|help|menu)[\s.!?]*$", re.IGNORECASE)
# After the ticket anything may follow ("CEK 13 no hp saya ganti"): the ticket
# is what is asked about. "cek 3 hari lalu lapor ..." names no ticket: it asks
# about the latest complaint.
_STATUS_WORD = re.compile(
    rf"^\s*(?:cek|status|stat|sts)\b[\s#:.,-]*(?:aduan|tiket|laporan|no\.?|nomor)?"
    rf"[\s#:.,-]*(?:{_CITIZEN_TICKET}(?:[\s.,:;?!-].*)?|{_SPAN_OF_TIME}.*)?[\s.?!]*$",
    re.IGNORECASE | re.DOTALL,
)
_STATUS_FREE = re.compile(
    r"\b(gimana|gmn|bagaimana|bgmn|piye|pripun|sampai mana|sdh sampai|kapan)\b"
    r".{0,40}\b(aduan|laporan|tiket|keluhan|pengaduan)\b",
    re.IGNORECASE | re.DOTALL,
)
_STATUS_NUMBERED = re.compile(
    r"\b(aduan|laporan|tiket|keluhan|pengaduan)\b.{0,25}?\b(no|nmr|nomer|nomor)\.?\s*#?"
    r"\s*(?P<ticket>[0-9]{2,12})\b",
    re.IGNORECASE | re.DOTALL,
)
_REOPEN_WORD = re.compile(
    rf"^\s*belum\b[\s#:.,-]*(?:selesai|beres)?[\s#:.,-]*(?:{_CITIZEN_TICKET})"
    rf"[\s.,:;-]*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# "Belum" alone (not yet): the latest complaint is not fixed.
_REOPEN_BARE = re.compile(
    r"^\s*(?:belum|blm)(?:[\s.,-]*(?:selesai|beres|diperbaiki|dibenerin))?[\s.!]*$",
    re.IGNORECASE,
)
_NOT_FIXED = re.compile(
    r"\b(belum|blm|durung|dereng|masih|msh|tetap|tetep|gak|ga|tidak|tdk|ora)\b"
    r"\s*(di|d)?\s*(perbaiki|benerin|betulin|beres|selesai|diperbaiki|dibenahi|"
    r"rusak|mati|bocor|mampet|bau|banjir|ditangani|ada perubahan|ono perubahan)",
    re.IGNORECASE,
)
# The first word of each citizen command, whatever follows it ("CEK abc").
_CITIZEN_WORD = re.compile(
    r"^\s*(?:(?P<CEK>cek|status|stat|sts)|(?P<BELUM>belum|blm)"
    r"|(?P<INFO>info|bantuan|format|help|menu))\b",
    re.IGNORECASE,
)
_ANY_TICKET_TEXT = r"(?:tiket|no\.?|nmr|nomor|nomer|#)\s*#?\s*([0-9]{2,12})\b"
_ANY_TICKET = re.compile(_ANY_TICKET_TEXT, re.IGNORECASE)
# Case-blind searches cost several times more than searching the lower-cased
# text, which is exact for ASCII text (most SMS): that is searched instead.
_ANY_TICKET_LOWER = re.compile(_ANY_TICKET_TEXT)
# Every free-form status question names the complaint with one of these
# ("pengaduan" holds "aduan"): a text without one skips those searches.
_COMPLAINT_NOUNS = ("aduan", "laporan", "tiket", "keluhan")
_DIGIT = re.compile(r"[0-9]")  # no ticket without one: most texts skip the searches


def parse_head(text: str) -> Command | None:
    """Parse a unit head's or the mayor's command; None if it is not one."""
    text = numerals.fold(text)
    if _LIST.match(text):
        return Command(Kind.LIST, word="DAFTAR")
    if _LIST_WORD.match(text):
        return Command(Kind.MALFORMED, word="DAFTAR")  # DAFTAR takes nothing after it
    match = _HEAD.match(text)
    if not match:
        return None
    word = match.group("word").upper()
    kind = _HEAD_KINDS[word]
    ticket = match.group("ticket")
    rest = " ".join(match.group("rest").split())
    if ticket is None or (kind in _NEEDS_ARGUMENT and not rest):
        return Command(Kind.MALFORMED, ticket, word=word)
    return Command(kind, ticket, rest, word)


def parse_citizen(text: str) -> Command | None:
    """Parse a citizen's command (status, reopen, help); None for anything else."""
    text = numerals.fold(text)
    if _HELP.match(text):
        return Command(Kind.HELP)
    if match := _STATUS_WORD.match(text):
        return Command(Kind.STATUS, match.group("ticket"))
    if match := _REOPEN_WORD.match(text):
        return Command(Kind.REOPEN, match.group("ticket"), match.group("rest").strip())
    if _REOPEN_BARE.match(text):
        return Command(Kind.REOPEN)
    if not _may_name_a_complaint(text):
        return None
    if _DIGIT.search(text) and (match := _STATUS_NUMBERED.search(text)):
        return Command(Kind.STATUS, match.group("ticket"))
    if _STATUS_FREE.search(text):
        return Command(Kind.STATUS, quoted_ticket(text))
    return None


COMMAND_LIKE_WORDS = 4


def citizen_word(text: str) -> str | None:
    """Return the citizen command a text starts like (a CITIZEN_FORMATS key), or None.

    Only the first word counts: "CEK abc" starts like CEK without being the
    command, and so does a complaint such as "cek jalan rusak di ...". Only a
    short text counts too: a mistyped command is a few words, and a long text
    that starts "INFO ..." is more likely an advert than a citizen asking.
    """
    if len(text.split()) > COMMAND_LIKE_WORDS:
        return None
    match = _CITIZEN_WORD.match(numerals.fold(text))
    return match.lastgroup if match else None


def _may_name_a_complaint(text: str) -> bool:
    if not text.isascii():
        return True  # case folding beyond ASCII is left to the regexes
    lower = text.lower()
    return any(noun in lower for noun in _COMPLAINT_NOUNS)


def says_not_fixed(text: str) -> bool:
    """Tell whether a citizen's reply says the problem is not fixed."""
    return bool(_NOT_FIXED.search(numerals.fold(text)))


def quoted_ticket(text: str) -> str | None:
    """Return a ticket number quoted in free text (``tiket 1234``, ``#1234``)."""
    text = numerals.fold(text)
    if not _DIGIT.search(text):
        return None
    if text.isascii():
        match = _ANY_TICKET_LOWER.search(text.lower())
    else:
        match = _ANY_TICKET.search(text)
    return match.group(1) if match else None
