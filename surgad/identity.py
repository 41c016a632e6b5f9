"""Keep a citizen's identity number and name out of what units and logs see.

The original Surga line asked for ``NIK#Nama#Isi``. People also send the parts
in another order, leave the name out, or put spaces in the NIK. The NIK (16
digits; 15 to 17 are accepted as typos) and the name are taken out and stored
apart; any other NIK-like digit run left in the text is replaced by ``[NIK]``.

A NIK is ASCII digits after folding (fullwidth digits count; see
``surgad.numerals``). Hiding is wider than reading: a run of NIK length in any
script's digits is replaced too, though not stored as the NIK.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from surgad import numerals

_NIK_RUN = re.compile(r"(?<![0-9])[0-9](?:[ .-]?[0-9]){14,16}(?![0-9])")
_ANY_SCRIPT_NIK_RUN = re.compile(r"(?<!\d)\d(?:[ .-]?\d){14,16}(?!\d)")
_NAME = re.compile(r"[^\W\d_][\w.' -]{0,58}", re.UNICODE)
REDACTED = "[NIK]"


class Split(NamedTuple):
    """A message's text with the identity parts taken out."""

    body: str
    nik: str | None = None
    name: str | None = None


def _digits(segment: str) -> str:
    return re.sub(r"[ .-]", "", segment.strip())


def _is_nik(segment: str) -> bool:
    digits = _digits(segment)
    return numerals.is_digits(digits) and 15 <= len(digits) <= 17


def _is_name(segment: str) -> bool:
    words = segment.split()
    return bool(_NAME.fullmatch(segment.strip())) and 1 <= len(words) <= 5


def split(text: str) -> Split:
    """Take the NIK and name out of a complaint's text."""
    text = numerals.fold_digits(text)
    segments = text.split("#")
    nik = name = None
    if len(segments) >= 2:
        nik_index = next((i for i, s in enumerate(segments[:-1]) if _is_nik(s)), None)
        if nik_index is not None:
            nik = _digits(segments[nik_index])
            rest = [s for i, s in enumerate(segments) if i != nik_index]
            if len(rest) >= 2 and _is_name(rest[0]):
                name, rest = rest[0].strip(), rest[1:]
            text = " ".join(part.strip() for part in rest if part.strip())
    found = _NIK_RUN.search(text)
    if found is None and text.isascii():
        return Split(text.strip(), nik, name)  # nothing to hide: skip the sub
    if nik is None and found is not None:
        nik = _digits(found.group(0))
    return Split(_ANY_SCRIPT_NIK_RUN.sub(REDACTED, text).strip(), nik, name)
