"""Ticket codes: short, digits only, and a typo finds nothing."""

from __future__ import annotations

import pytest

from surgad import tickets


def test_round_trip() -> None:
    """Every id comes back from its ticket code."""
    for complaint_id in (1, 7, 42, 999, 123456, 10**9):
        assert tickets.decode(tickets.encode(complaint_id)) == complaint_id


def test_single_wrong_digit_is_rejected() -> None:
    """Changing any one digit of a ticket makes it invalid."""
    ticket = tickets.encode(4821)
    for position, digit in enumerate(ticket):
        for other in "0123456789":
            if other != digit:
                typo = ticket[:position] + other + ticket[position + 1 :]
                assert tickets.decode(typo) is None


def test_swapped_neighbours_are_rejected() -> None:
    """Swapping two different neighbouring digits makes a ticket invalid."""
    ticket = tickets.encode(31752)
    for position in range(len(ticket) - 1):
        a, b = ticket[position], ticket[position + 1]
        if a != b:
            swapped = ticket[:position] + b + a + ticket[position + 2 :]
            assert tickets.decode(swapped) is None


@pytest.mark.parametrize("text", ["", "7", "abc", "12a4", "0" * 13, "00"])
def test_garbage_is_not_a_ticket(text: str) -> None:
    """Non-digits, one digit, overlong or zero ids decode to None."""
    assert tickets.decode(text) is None


def test_hash_prefix_and_spaces_are_tolerated() -> None:
    """'#1234' and ' 1234 ' as citizens type them are accepted."""
    ticket = tickets.encode(123)
    assert tickets.decode(f" #{ticket} ") == 123


def test_ids_below_one_are_refused() -> None:
    """There is no complaint 0."""
    with pytest.raises(ValueError):
        tickets.encode(0)


def test_fullwidth_digits_decode_like_ascii() -> None:
    """Fullwidth digits (NFKC folds them to ASCII) name the same ticket."""
    ticket = tickets.encode(4821)
    fullwidth = "".join(chr(0xFF10 + int(digit)) for digit in ticket)
    assert tickets.decode(fullwidth) == 4821


@pytest.mark.parametrize("script", [0x0660, 0x06F0, 0x0966, 0x0E50])
def test_other_scripts_digits_are_not_ticket_digits(script: int) -> None:
    """Arabic-Indic, Persian, Devanagari and Thai digits decode to nothing."""
    ticket = tickets.encode(4821)
    assert tickets.decode("".join(chr(script + int(digit)) for digit in ticket)) is None
    assert tickets.decode(ticket[:-1] + chr(script + int(ticket[-1]))) is None
