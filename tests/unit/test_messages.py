"""SMS texts: what a long note or complaint becomes on a basic phone."""

from __future__ import annotations

from surgad import messages


def test_a_heads_long_note_is_cut_like_a_quoted_complaint() -> None:
    """A note sent by SMS command reaches the citizen cut to MAX_QUOTED characters."""
    note = "jalan sudah ditambal " * 500
    for text in (
        messages.progress("4821", "PUPR", note),
        messages.resolution("4821", "PUPR", note),
        messages.status("4821", "PUPR", "acked", note),
    ):
        assert "…" in text
        assert len(text) < messages.MAX_QUOTED + 100
