"""What the CLI prints for people: citizens' text shown inert, on one line."""

from __future__ import annotations

import pytest

from surgad import cli_state


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("baris satu\nbaris dua", r"baris satu\nbaris dua"),
        ("a\r\tb", r"a\r\tb"),
        ("\x1b[2J\x07\x00\x7f", r"\x1b[2J\x07\x00\x7f"),
        ("c1 \x85 \x9b", r"c1 \x85 \x9b"),
        ("line\u2028para\u2029", r"line\u2028para\u2029"),
        ("\u202eabc\u202c \u2067x\u2069 \u200f", r"\u202eabc\u202c \u2067x\u2069 \u200f"),
    ],
)
def test_control_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    """Each character that could forge a line or drive a terminal is shown escaped."""
    assert cli_state.printable(text) == shown
    assert len(cli_state.printable(text).splitlines()) <= 1


@pytest.mark.parametrize(
    "text",
    [
        "Jalan rusak di Jl. Semeru, tolong 🙏",
        "keluarga 👨\u200d👩\u200d👧 ❤\ufe0f",  # joiners and variation selectors
        "سلام",
        r"path C:\temp \n as typed",
        "ＣＥＫ １２３",
    ],
)
def test_ordinary_text_is_shown_as_it_is(text: str) -> None:
    """Letters, emoji sequences and typed backslashes are left alone."""
    assert cli_state.printable(text) == text


@pytest.mark.parametrize(
    ("sudo_user", "recorded"),
    [
        ("u" * 300, "u" * 63 + "…"),
        ("evil\nname\x1b[2J", r"evil\nname\x1b[2J"),
        ("caf\udce9", r"caf\xe9"),  # bytes that were not UTF-8
        ("budi", "budi"),
    ],
)
def test_actor_fits_the_records_and_is_shown_inert(
    monkeypatch: pytest.MonkeyPatch, sudo_user: str, recorded: str
) -> None:
    """SUDO_USER is recorded cut to its columns' 64 characters, escaped."""
    monkeypatch.setenv("SUDO_USER", sudo_user)
    assert cli_state.actor() == recorded
    assert len(cli_state.actor()) <= 64
