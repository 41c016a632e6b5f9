"""How error messages quote what a user typed."""

from __future__ import annotations

import pytest

from surgad import errors


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("PUPR", "'PUPR'"),
        ("08\x1b12", r"'08\x1b12'"),
        ("\udcff", r"'\xff'"),  # the byte 0xff of a command line, read by PEP 383
        ("ab\udc80\udcfecd", r"'ab\x80\xfecd'"),
        ("caf\u00e9 \udce9", r"'café \xe9'"),
        ("\\udcff", r"'\\udcff'"),  # typed as six characters: kept as typed
        ("\\\udcff", r"'\\\xff'"),
        ("x" * 45 + "\udcff", "'" + "x" * 40 + "…'"),
    ],
)
def test_shown_escapes_controls_and_bytes_that_are_not_utf8(value: str, shown: str) -> None:
    """A value is quoted, cut, its controls escaped and its non-UTF-8 bytes as \\xff."""
    assert errors.shown(value) == shown


def test_readable_shows_bytes_that_are_not_utf8_unquoted() -> None:
    """An unquoted value keeps its text; only its undecodable bytes become escapes."""
    assert errors.readable("/etc/surgad/\udcff\udcfe.toml") == r"/etc/surgad/\xff\xfe.toml"
    assert errors.readable("café\\udcff") == "café\\udcff"
