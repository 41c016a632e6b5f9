"""Read the digits people type: ASCII 0-9, after folding compatibility forms.

Python's ``\\d``, ``str.isdigit`` and ``int`` accept the digits of every script:
``CEK ١٢٣`` (Arabic-Indic) would find ticket 123, and a NIK or a phone number
could be stored in digits nothing downstream reads. surgad reads tickets, NIKs
and phone numbers in ASCII digits only, after NFKC has folded compatibility
forms: a phone whose keyboard is in a CJK mode sends fullwidth ``ＣＥＫ １２３``,
which then reads as ``CEK 123`` (superscript and circled digits fold as well).
Digits of other scripts stay as they are and are not digits here.
"""

from __future__ import annotations

import functools
import unicodedata

ASCII_DIGITS = frozenset("0123456789")


def fold(text: str) -> str:
    """Return ``text`` in NFKC, so fullwidth letters and digits read as ASCII."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def fold_digits(text: str) -> str:
    """Return ``text`` with only its digits folded (see ``fold``); same length.

    For text that is kept as the citizen typed it: positions found in the
    result are positions in ``text``.
    """
    return text if text.isascii() else "".join(map(_folded_digit, text))


@functools.lru_cache(maxsize=4096)
def _folded_digit(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char)
    return folded if folded in ASCII_DIGITS else char


def is_digits(text: str) -> bool:
    """Tell whether ``text`` is one or more ASCII digits and nothing else."""
    return text.isascii() and text.isdigit()
