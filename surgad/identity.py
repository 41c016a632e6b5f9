"""Keep a citizen's identity number and name out of what units and logs see.

The original Surga line asked for ``NIK#Nama#Isi``. People also send the parts
in another order, leave the name out, or put spaces in the NIK. The NIK (16
digits; 15 to 17 are accepted as typos) and the name are taken out and stored
apart; any other NIK-like digit run left in the text is replaced by ``[NIK]``.
Fields often carry the form's labels ("NIK: 3571...", "No KTP", "Nama: Siti",
or a label alone in its own field); the labels are dropped with their field so
the name never reaches the forwarded text.

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
# "NIK", "NIK:", "nik.", "No NIK", "No. KTP", "NIK/KTP", "e-KTP" before a NIK.
_NIK_LABEL = re.compile(
    r"\s*(?:no(?:mor|mer)?\b\.?\s*)?(?:nik|e-?ktp|ktp)(?:\s*/\s*(?:nik|ktp))?"
    r"(?![^\W\d_])\s*[:.=-]?\s*",
    re.IGNORECASE,
)
# "Nama", "nama:", "Nama lengkap -" before a name.
_NAME_LABEL = re.compile(
    r"\s*nama(?:\s+lengkap)?(?![^\W\d_])\s*[:.=-]?\s*", re.IGNORECASE
)
REDACTED = "[NIK]"


class Split(NamedTuple):
    """A message's text with the identity parts taken out."""

    body: str
    nik: str | None = None
    name: str | None = None


def _digits(segment: str) -> str:
    return re.sub(r"[ .-]", "", segment.strip())


def _unlabelled(segment: str, label: re.Pattern[str]) -> str:
    """Return ``segment`` without a leading ``label``."""
    found = label.match(segment)
    return segment[found.end() :] if found else segment


def _nik_of(segment: str) -> str | None:
    """Return the NIK a field holds, after any "NIK:" label; None if it holds none."""
    digits = _digits(_unlabelled(segment, _NIK_LABEL))
    return digits if numerals.is_digits(digits) and 15 <= len(digits) <= 17 else None


def _is_label(segment: str) -> bool:
    """Tell whether a field is only a label, such as "NIK" or "Nama:"."""
    return any(
        label.fullmatch(segment) is not None for label in (_NIK_LABEL, _NAME_LABEL)
    )


def _is_name(segment: str) -> bool:
    words = segment.split()
    return bool(_NAME.fullmatch(segment.strip())) and 1 <= len(words) <= 5


def fields(text: str) -> Split:
    """Read ``NIK#Nama#Isi`` in any order; the text as it is if no field is a NIK.

    Only the fields are read: a NIK typed inside the Isi stays (see ``split``).
    """
    segments = text.split("#")
    found = next(
        (
            (index, nik)
            for index, segment in enumerate(segments[:-1])
            if (nik := _nik_of(segment)) is not None
        ),
        None,
    )
    if found is None:
        return Split(text)
    nik_index, nik = found
    # The Isi comes last: a label-only field before it is the form, not text.
    rest = [
        segment
        for index, segment in enumerate(segments)
        if index != nik_index and (index == len(segments) - 1 or not _is_label(segment))
    ]
    name = None
    if len(rest) >= 2 and _is_name(candidate := _unlabelled(rest[0], _NAME_LABEL)):
        name, rest = candidate.strip(), rest[1:]
    body = " ".join(part.strip() for part in rest if part.strip())
    return Split(body, nik, name)


def split(text: str) -> Split:
    """Take the NIK and name out of a complaint's text."""
    text = numerals.fold_digits(text)
    nik = name = None
    if "#" in text:  # most SMS are not in the Surga format: skip the fields
        text, nik, name = fields(text)
    found = _NIK_RUN.search(text)
    if found is None and text.isascii():
        return Split(text.strip(), nik, name)  # nothing to hide: skip the sub
    if nik is None and found is not None:
        nik = _digits(found.group(0))
    return Split(_ANY_SCRIPT_NIK_RUN.sub(REDACTED, text).strip(), nik, name)
