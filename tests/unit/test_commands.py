"""SMS commands as people really type them on basic phones."""

from __future__ import annotations

import pytest

from surgad import commands
from surgad.commands import Kind


@pytest.mark.parametrize(
    ("text", "ticket"),
    [
        ("CEK 123", "123"),
        ("cek#123", "123"),
        ("STATUS 123", "123"),
        ("status aduan 123", "123"),
        ("gmn aduan sy no 123?", "123"),
        ("pak aduan kulo nomer 312 wingi kok dereng wonten tindak lanjut nggih", "312"),
        ("cek", None),
        ("GMN ADUAN SY NO 123?", "123"),
        ("CEK 13 no 7", "13"),
        ("cek 13, nomor hp saya\nganti ya pak", "13"),
        ("Bagaimana PENGADUAN saya?", None),
        ("Kapan Laporan saya diproses, Pak Tiket #4821", "4821"),
        ("gimana aduan saya no 77 🙏", "77"),
    ],
)
def test_status_queries_in_many_forms(text: str, ticket: str | None) -> None:
    """Status queries are recognised with or without a ticket number."""
    assert commands.parse_citizen(text) == commands.Command(Kind.STATUS, ticket)


@pytest.mark.parametrize("text", ["INFO", "bantuan", "Format", "info."])
def test_help_words(text: str) -> None:
    """INFO, BANTUAN and FORMAT ask how the line works."""
    assert commands.parse_citizen(text) == commands.Command(Kind.HELP)


def test_reopen_carries_reason() -> None:
    """BELUM <ticket> reopens, with whatever follows as the reason."""
    assert commands.parse_citizen("belum 4821 masih bocor") == commands.Command(
        Kind.REOPEN, "4821", "masih bocor"
    )


@pytest.mark.parametrize(
    ("text", "kind", "ticket", "argument"),
    [
        ("TERIMA 123", Kind.ACCEPT, "123", ""),
        ("terima #123", Kind.ACCEPT, "123", ""),
        ("selesai #123 sudah ditambal", Kind.RESOLVE, "123", "sudah ditambal"),
        ("Selesai 123.", Kind.RESOLVE, "123", ""),
        ("PROSES 123 tim survei besok", Kind.PROGRESS, "123", "tim survei besok"),
        ("alih 123 pdam galian pipa", Kind.REASSIGN, "123", "pdam galian pipa"),
        ("Tegur 45", Kind.REPRIMAND, "45", ""),
    ],
)
def test_head_commands_tolerate_variations(
    text: str, kind: Kind, ticket: str, argument: str
) -> None:
    """Case, '#', and trailing dots do not matter."""
    command = commands.parse_head(text)
    assert command is not None
    assert (command.kind, command.ticket, command.argument) == (kind, ticket, argument)


@pytest.mark.parametrize("text", ["TERIMA", "PROSES 123", "ALIH 123", "selesai"])
def test_incomplete_head_command_is_malformed(text: str) -> None:
    """A command word without its ticket or note asks for the right format."""
    command = commands.parse_head(text)
    assert command is not None and command.kind is Kind.MALFORMED
    assert command.word in commands.HEAD_FORMATS


@pytest.mark.parametrize(
    "text",
    [
        "Terima kasih atas respon cepat petugas",
        "trima kasih pak",
        "jalan rusak di jl semeru",
        "prosesnya lama sekali di kelurahan",
    ],
)
def test_ordinary_text_is_not_a_head_command(text: str) -> None:
    """Thanks and complaints that merely start with a command-like word pass through."""
    command = commands.parse_head(text)
    assert command is None or command.ticket is None


def test_not_fixed_replies() -> None:
    """Replies saying it is still broken are recognised; thanks are not."""
    assert commands.says_not_fixed("masih rusak pak")
    assert commands.says_not_fixed("blm diperbaiki sama sekali")
    assert not commands.says_not_fixed("terima kasih sudah diperbaiki")


def test_quoted_ticket_in_free_text() -> None:
    """'tiket 4821' or '#4821' in a message refers to a ticket."""
    assert commands.quoted_ticket("tambahan utk tiket 4821: fotonya ada") == "4821"
    assert commands.quoted_ticket("jalan no 5 rusak") is None
    assert commands.quoted_ticket("lampu mati") is None
    assert commands.quoted_ticket("TAMBAHAN UTK TIKET 4821") == "4821"
    assert commands.quoted_ticket("Tambahan tiket 4821, jalan depan café") == "4821"


@pytest.mark.parametrize(
    "text", ["gimana ini jalan rusak", "kapan diperbaiki pak", "GMN NO 123", "lampu mati 5 hari"]
)
def test_questions_that_name_no_complaint_are_not_status_queries(text: str) -> None:
    """A free-form question is a status query only if it names the complaint."""
    assert commands.parse_citizen(text) is None


def _arabic_indic(digits: str) -> str:
    return "".join(chr(0x0660 + int(digit)) for digit in digits)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" for ch in text)


@pytest.mark.parametrize(
    ("text", "ticket"),
    [
        ("CEK 1234567890123", "1234567890123"),
        ("cek #5", "5"),
        ("STATUS 0", "0"),
        ("cek " + "9" * 40, "9" * 40),
        ("CEK " + _arabic_indic("123"), _arabic_indic("123")),
    ],
)
def test_status_word_with_a_bad_ticket_is_still_a_status_query(text: str, ticket: str) -> None:
    """CEK with a number that is no ticket is a status query; the lookup finds nothing."""
    assert commands.parse_citizen(text) == commands.Command(Kind.STATUS, ticket)


@pytest.mark.parametrize(
    ("text", "ticket", "reason"),
    [
        ("BELUM 0", "0", ""),
        ("belum 7 masih bocor", "7", "masih bocor"),
        ("BELUM 12345678901234567", "12345678901234567", ""),
        ("belum " + _arabic_indic("4821"), _arabic_indic("4821"), ""),
    ],
)
def test_reopen_word_with_a_bad_ticket_is_still_a_reopen(
    text: str, ticket: str, reason: str
) -> None:
    """BELUM with a number that is no ticket is a reopen request, not a complaint."""
    assert commands.parse_citizen(text) == commands.Command(Kind.REOPEN, ticket, reason)


@pytest.mark.parametrize(
    ("text", "kind", "ticket"),
    [
        ("TERIMA 0", Kind.ACCEPT, "0"),
        ("SELESAI 1234567890123 beres", Kind.RESOLVE, "1234567890123"),
        ("tegur 7", Kind.REPRIMAND, "7"),
        ("PROSES 5 tim berangkat", Kind.PROGRESS, "5"),
    ],
)
def test_head_word_with_a_bad_ticket_keeps_its_kind(text: str, kind: Kind, ticket: str) -> None:
    """A head command naming a number that is no ticket is refused later, not malformed."""
    command = commands.parse_head(text)
    assert command is not None and (command.kind, command.ticket) == (kind, ticket)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_fullwidth("CEK 123"), commands.Command(Kind.STATUS, "123")),
        (_fullwidth("belum 4821") + " masih bocor", commands.Command(Kind.REOPEN, "4821",
                                                                     "masih bocor")),
        (_fullwidth("INFO"), commands.Command(Kind.HELP)),
    ],
)
def test_fullwidth_commands_read_as_ascii(text: str, expected: commands.Command) -> None:
    """A phone typing fullwidth forms (a CJK keyboard mode) sends commands that work."""
    assert commands.parse_citizen(text) == expected


def test_fullwidth_head_command_reads_as_ascii() -> None:
    """A head's fullwidth SELESAI gets its ticket in ASCII digits."""
    command = commands.parse_head(_fullwidth("SELESAI 123") + " beres")
    assert command == commands.Command(Kind.RESOLVE, "123", "beres", "SELESAI")


def test_other_scripts_digits_quote_no_ticket_in_free_text() -> None:
    """Free text quotes a ticket only in ASCII digits (fullwidth folded to ASCII)."""
    assert commands.quoted_ticket("tambahan tiket " + _arabic_indic("4821")) is None
    assert commands.quoted_ticket("tambahan tiket " + _fullwidth("4821")) == "4821"


@pytest.mark.parametrize(
    "text",
    [
        "belum 2 minggu sudah rusak lagi",
        "Belum 3 hari diperbaiki sdh bocor lg",
        "blm 1 bulan aspal jl. mojoroto mengelupas",
        "belum 12 hr jalan rusak lagi",
        "belum 2bln lampu mati lagi",
    ],
)
def test_a_number_that_counts_time_is_no_ticket_to_reopen(text: str) -> None:
    """Not two weeks yet and broken again: a complaint, not a reopen of ticket 2."""
    assert commands.parse_citizen(text) is None


@pytest.mark.parametrize(
    "text", ["cek 3 hari lalu lapor blm ada kabar", "STATUS 1 minggu", "cek 2hari"]
)
def test_a_status_word_before_a_span_of_time_asks_about_the_latest(text: str) -> None:
    assert commands.parse_citizen(text) == commands.Command(Kind.STATUS, None)


@pytest.mark.parametrize(
    ("text", "ticket", "reason"),
    [
        ("BELUM 1234 hari ini masih bocor", "1234", "hari ini masih bocor"),
        ("belum 45 2 hari lagi", "45", "2 hari lagi"),
        ("belum 7 hari ini", "7", "hari ini"),
    ],
)
def test_a_ticket_before_today_or_a_later_span_is_still_a_ticket(
    text: str, ticket: str, reason: str
) -> None:
    assert commands.parse_citizen(text) == commands.Command(Kind.REOPEN, ticket, reason)


@pytest.mark.parametrize("text", ["BELUM", "belum.", "Blm beres", "belum selesai!"])
def test_belum_alone_is_a_reopen_of_the_latest(text: str) -> None:
    assert commands.parse_citizen(text) == commands.Command(Kind.REOPEN)


@pytest.mark.parametrize("text", ["daftar semua", "DAFTAR 5"])
def test_daftar_with_words_after_it_is_malformed(text: str) -> None:
    assert commands.parse_head(text) == commands.Command(Kind.MALFORMED, word="DAFTAR")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("CEK abc", "CEK"),
        ("cek#tiket saya", "CEK"),
        ("Status: kemarin", "CEK"),
        ("ＣＥＫ abc", "CEK"),
        ("cek jalan rusak", "CEK"),
        ("belum xyz", "BELUM"),
        ("blm ada kabar", "BELUM"),
        ("info dong", "INFO"),
        ("Bantuan pak", "INFO"),
        ("cekabc", None),
        ("belumnya", None),
        ("tolong cek jalan", None),
        ("halo", None),
        ("cek jalan rusak di jl semeru", None),
        ("INFO pinjaman cepat tanpa agunan hubungi 0812345", None),
    ],
)
def test_citizen_word_is_the_command_a_text_starts_like(text: str, word: str | None) -> None:
    """Only the first word of a short text counts, whatever follows it."""
    assert commands.citizen_word(text) == word
