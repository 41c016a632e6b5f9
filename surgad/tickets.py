"""Turn complaint ids into short ticket codes that survive a typo.

A ticket is the complaint's id followed by one Damm check digit. Digits only, so a
basic phone's keypad types it without switching modes; the check digit catches
every single wrong digit and every swap of two neighbours, so a typo finds no
ticket instead of someone else's. Only ASCII digits are ticket digits (see
``surgad.numerals``).
"""

from __future__ import annotations

import re

from surgad import numerals

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_TICKET = re.compile(r"[0-9]{2,12}")


def _damm(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim


def encode(complaint_id: int) -> str:
    """Return the ticket code of a complaint id."""
    if complaint_id < 1:
        raise ValueError("complaint ids start at 1")
    digits = str(complaint_id)
    return digits + str(_damm(digits))


def decode(ticket: str) -> int | None:
    """Return the complaint id of a ticket code, or None if it is not valid."""
    ticket = numerals.fold(ticket).strip().lstrip("#")
    if not _TICKET.fullmatch(ticket) or _damm(ticket) != 0:
        return None
    complaint_id = int(ticket[:-1])
    return complaint_id if complaint_id >= 1 else None
