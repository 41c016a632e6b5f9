"""SMS texts: short, GSM-friendly, and what a long note becomes on a basic phone."""

from __future__ import annotations

from surgad import clock, codec, messages


def test_refusal_echoes_a_ticket() -> None:
    """A refused command names the ticket it was sent with."""
    assert "tiket 4821 " in messages.head_refused("4821")


def test_refusal_cuts_a_number_far_too_long_to_be_a_ticket() -> None:
    """A pasted 200-digit 'ticket' is cut, so the refusal stays one SMS."""
    text = messages.head_refused("9" * 200)
    assert "9" * 12 + "..." in text and "9" * 13 not in text
    assert len(codec.split(text, 1)) == 1


def test_a_heads_long_note_is_cut_like_a_quoted_complaint() -> None:
    """A note sent by SMS command reaches the citizen cut to MAX_QUOTED characters."""
    note = "jalan sudah ditambal " * 500
    for text in (
        messages.progress("4821", "PUPR", note),
        messages.resolution("4821", "PUPR", note),
        messages.status("4821", "PUPR", "acked", note),
    ):
        assert text.count("...") == 1 and "…" not in text
        assert len(text) < messages.MAX_QUOTED + 100
        parts = codec.split(text, 1)  # a plain text stays in the GSM alphabet
        assert {part.coding for part in parts} == {codec.GSM_CODING} and len(parts) <= 6


def test_answer_to_a_command_on_a_reassigned_ticket_is_one_gsm_sms() -> None:
    """A repeated ALIH is confirmed; other commands are told where the ticket went."""
    repeat = messages.head_moved("ALIH", "48213", "Kecamatan/Kelurahan", repeat=True)
    assert repeat == "SURGA: ALIH tiket 48213 ke Kecamatan/Kelurahan sudah tercatat."
    for word in ("TERIMA", "PROSES", "SELESAI", "ALIH"):
        text = messages.head_moved(word, "48213", "Kecamatan/Kelurahan", repeat=False)
        assert "dialihkan ke Kecamatan/Kelurahan" in text and word in text
        (part,) = codec.split(text, 1)
        assert part.coding == "Default_No_Compression"


def test_reopening_says_who_reopened() -> None:
    """The unit learns whether the citizen or staff reopened a complaint."""
    by_citizen = messages.reopened_unit("4821", "lampu mati", "masih mati")
    by_staff = messages.reopened_unit("4821", "lampu mati", "dicek ulang", by_citizen=False)
    assert "oleh pelapor" in by_citizen
    assert "oleh pelapor" not in by_staff and "oleh petugas SURGA" in by_staff


def test_control_characters_of_a_quoted_text_become_spaces() -> None:
    """A bell, a tab or a terminal escape in a complaint does not reach a phone."""
    typed = "lampu\x07 mati\tdi\x1b[31m jl\x7fsemeru\nRT 2"
    text = messages.forward("4821", typed, "+6281234567890", None, True, False)
    assert "lampu  mati di [31m jl semeru\nRT 2" in text
    assert {part.coding for part in codec.split(text, 1)} == {codec.GSM_CODING}


def test_short_waits_in_escalation_and_reminder_stay_one_gsm_sms() -> None:
    """A seconds-long deadline is said in seconds, in the GSM alphabet, in one SMS."""
    for seconds in (0.0, 0.36, 42.0):
        left = clock.human_duration(seconds)
        for text in (
            messages.escalation("4821", "PUPR", left, "jalan rusak"),
            messages.reminder("4821", left, "jalan rusak"),
        ):
            assert "0 mnt" not in text and "dtk" in text
            parts = codec.split(text, 1)
            assert [part.coding for part in parts] == [codec.GSM_CODING]


def test_a_citizens_command_format_is_one_gsm_sms_that_also_says_how_to_complain() -> None:
    """The answer to "CEK abc" shows the format, and how to send a complaint instead."""
    text = messages.citizen_format("CEK <tiket>")
    assert text.startswith("SURGA: Format salah. Gunakan: CEK <tiket>. ")
    assert "kirim aduan Anda ke nomor ini (sebut kelurahan)" in text
    (part,) = codec.split(text, 1)
    assert part.coding == codec.GSM_CODING
