"""SMS texts: short, GSM-friendly, and never longer than their content needs."""

from __future__ import annotations

from surgad import codec, messages


def test_refusal_echoes_a_ticket() -> None:
    """A refused command names the ticket it was sent with."""
    assert "tiket 4821 " in messages.head_refused("4821")


def test_refusal_cuts_a_number_far_too_long_to_be_a_ticket() -> None:
    """A pasted 200-digit 'ticket' is cut, so the refusal stays one SMS."""
    text = messages.head_refused("9" * 200)
    assert "9" * 12 + "..." in text and "9" * 13 not in text
    assert len(codec.split(text, 1)) == 1
