"""Pin the SMS limits, part splitting and inbox decoding of surgad.codec."""

from __future__ import annotations

from typing import Any

import gammu
import pytest

from surgad import codec

EMOJI = "\U0001f600"  # two UTF-16 units
COMPLAINT = (
    "Selamat pagi Pak Wali Kota \U0001f64f saluran air di Jl. Merdeka No. 12 "
    "tersumbat sejak tiga hari, air meluap ke jalan \U0001f30a dan bau sekali. "
    "Mohon segera ditindaklanjuti ya \U0001f621 terima kasih banyak. "
)
LONG_COMPLAINT = (COMPLAINT * 3)[:400]


def _gammu_parts(text: str) -> list[str]:
    """Return the part texts python-gammu makes of ``text`` in surgad's coding."""
    parts: list[dict[str, Any]] = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": not codec.is_gsm(text),
            "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": text}],
        }
    )
    return [str(part["Text"]) for part in parts]


def _gammu_roundtrip(char: str) -> str:
    """Return ``char`` after gammu packs it into a GSM 7-bit PDU and reads it back."""
    sms = gammu.EncodeSMS(
        {
            "Class": -1,
            "Unicode": False,
            "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": char}],
        }
    )[0]
    sms.update(
        {"SMSC": {"Location": 0, "Number": "+62816124"}, "Number": "+6281234567890"}
    )
    return str(gammu.DecodePDU(gammu.EncodePDU(sms))["Text"])


def _units(text: str) -> int:
    """Count UTF-16 code units."""
    return len(text.encode("utf-16-be")) // 2


def _hex(text: str) -> str:
    """Encode text the way gammu fills the inbox Text column."""
    return text.encode("utf-16-be").hex().upper()


# --- alphabet -------------------------------------------------------------------


def test_alphabet_sizes() -> None:
    """The basic table has 127 characters (escape excluded), the extension ten."""
    assert len(codec.GSM_BASIC) == 127
    assert len(codec.GSM_EXTENSION) == 10
    assert not codec.GSM_BASIC & codec.GSM_EXTENSION


def test_basic_alphabet_survives_gammu_pdu_roundtrip() -> None:
    """Every basic character packs into GSM 7-bit and back unchanged in gammu."""
    assert {ch for ch in codec.GSM_BASIC if _gammu_roundtrip(ch) != ch} == set()


def test_extension_characters_take_two_septets_in_gammu() -> None:
    """gammu fits 80 extension characters into one SMS and not 81."""
    for char in codec.GSM_EXTENSION:
        assert len(_gammu_parts(char * 80)) == 1
        assert len(_gammu_parts(char * 81)) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("Jalan rusak di Jl. Gatot Subroto, tolong! @Dinas PU 100%", True),
        ("Harga 5€ {promo} [baru] ~^|\\\f", True),
        ("ΔΦΓΛΩΠΨΣΘΞ", True),
        ("Sampah menumpuk " + EMOJI, False),
        ("À la carte", False),  # gammu would send 'A la carte'
        ("ç", False),  # only the capital Ç is in the table
        ("\x1b", False),
        ("`", False),
    ],
)
def test_is_gsm(text: str, expected: bool) -> None:
    """is_gsm accepts exactly the basic and extension tables."""
    assert codec.is_gsm(text) is expected


def test_septets_counts_extension_twice() -> None:
    """An extension character costs two septets, a basic one one."""
    assert codec.septets("a" * 159 + "€") == 161
    assert codec.septets("[]{}") == 8
    assert codec.septets("") == 0


# --- single SMS limits ----------------------------------------------------------


def test_160_septets_fit_one_sms() -> None:
    """Exactly 160 GSM characters are one part without UDH."""
    parts = codec.split("a" * 160, 1)
    assert parts == [codec.Part("a" * 160, "", codec.GSM_CODING)]


def test_161_septets_need_two_parts() -> None:
    """161 GSM characters become two parts of 153 and 8."""
    parts = codec.split("a" * 161, 1)
    assert [len(part.text) for part in parts] == [153, 8]


def test_extension_char_pushes_160_chars_over_the_limit() -> None:
    """159 characters plus '€' are 161 septets and need two parts."""
    assert len(codec.split("a" * 158 + "€", 1)) == 1
    assert len(codec.split("a" * 159 + "€", 1)) == 2


def test_70_units_fit_one_ucs2_sms() -> None:
    """Exactly 70 UCS-2 units are one part in Unicode coding."""
    parts = codec.split("ā" * 70, 1)
    assert parts == [codec.Part("ā" * 70, "", codec.UCS2_CODING)]


def test_71_units_need_two_ucs2_parts() -> None:
    """71 UCS-2 units become two parts of 67 and 4."""
    assert [len(part.text) for part in codec.split("ā" * 71, 1)] == [67, 4]


def test_emoji_counts_two_units_toward_the_single_limit() -> None:
    """68 characters plus one emoji are 70 units; one more character splits."""
    assert len(codec.split("a" * 68 + EMOJI, 1)) == 1
    assert len(codec.split("a" * 69 + EMOJI, 1)) == 2


def test_empty_text_is_one_empty_part() -> None:
    """Empty text gives one GSM part with empty text and no UDH."""
    assert codec.split("", 7) == [codec.Part("", "", codec.GSM_CODING)]


# --- cutting --------------------------------------------------------------------


@pytest.mark.parametrize("offset", range(60, 72))
def test_emoji_is_never_cut(offset: int) -> None:
    """Every part encodes to UTF-16 on its own, so no surrogate pair is split."""
    text = "x" * offset + EMOJI + "y" * 80
    for part in codec.split(text, 1):
        hex_text = part.text.encode("utf-16-be").hex()
        assert "\ufffd" not in codec.decode_inbox_text(hex_text, part.coding)
        assert _units(part.text) <= codec.PART_UNITS


@pytest.mark.parametrize("offset", range(148, 156))
def test_escape_sequence_is_never_cut(offset: int) -> None:
    """An extension character stays whole, and parts stay within 153 septets."""
    text = "a" * offset + "€" + "b" * 60
    parts = codec.split(text, 1)
    assert all(codec.septets(part.text) <= codec.PART_SEPTETS for part in parts)
    assert "".join(part.text for part in parts) == text


def test_escape_at_septet_153_moves_to_next_part() -> None:
    """With 152 septets before it, '€' would straddle the cut and opens part 2."""
    parts = codec.split("a" * 152 + "€" + "b" * 10, 1)
    assert parts[0].text == "a" * 152
    assert parts[1].text.startswith("€")


def test_long_indonesian_message_with_emoji() -> None:
    """A 400-character complaint with emoji splits into valid UCS-2 parts."""
    parts = codec.split(LONG_COMPLAINT, 42)
    assert len(LONG_COMPLAINT) == 400
    assert {part.coding for part in parts} == {codec.UCS2_CODING}
    assert all(_units(part.text) <= codec.PART_UNITS for part in parts)
    assert "".join(part.text for part in parts) == LONG_COMPLAINT
    assert codec.join_parts_hex([_hex(part.text) for part in parts]) == LONG_COMPLAINT


@pytest.mark.parametrize(
    "text",
    ["a" * 1000, "[" * 500, LONG_COMPLAINT, ("Lapor: jalan € rusak. " * 30)],
)
def test_parts_join_back_and_respect_part_limits(text: str) -> None:
    """Parts concatenate to the original, each within 153 septets or 67 units."""
    parts = codec.split(text, 3)
    assert "".join(part.text for part in parts) == text
    for part in parts:
        if part.coding == codec.GSM_CODING:
            assert codec.septets(part.text) <= codec.PART_SEPTETS
        else:
            assert _units(part.text) <= codec.PART_UNITS


def test_cut_prefers_end_of_word() -> None:
    """A space among the last ten characters of a part ends the part."""
    parts = codec.split("kata " * 40, 1)
    assert parts[0].text == "kata " * 30
    assert len(parts) == 2


def test_cut_ignores_space_further_back_than_ten_characters() -> None:
    """A space twelve characters before the fullest cut is not used."""
    parts = codec.split("a" * 140 + " " + "b" * 100, 1)
    assert len(parts[0].text) == codec.PART_SEPTETS


def test_cut_at_space_never_adds_a_part() -> None:
    """Two full parts stay two parts even though a space lies near the cut."""
    text = "a" * 150 + " " + "b" * 155
    parts = codec.split(text, 1)
    assert [len(part.text) for part in parts] == [153, 153]


def test_lone_surrogate_in_text_is_rejected() -> None:
    """Text holding a lone surrogate cannot be encoded and raises CodecError."""
    with pytest.raises(codec.CodecError):
        codec.split("rusak \ud83d", 1)


def test_255_parts_is_the_maximum() -> None:
    """255 full parts are allowed; one more septet raises a ValueError."""
    assert len(codec.split("a" * 153 * 255, 1)) == 255
    with pytest.raises(ValueError, match="255"):
        codec.split("a" * (153 * 255 + 1), 1)
    with pytest.raises(codec.CodecError):
        codec.split("ā" * (67 * 255 + 1), 1)


# --- UDH ------------------------------------------------------------------------


def test_udh_numbers_parts_with_the_reference() -> None:
    """Each part carries 050003 RR NN PP in uppercase hex, PP counting from 1."""
    parts = codec.split("a" * 400, 0xAB)
    assert [part.udh for part in parts] == [
        "050003AB0301",
        "050003AB0302",
        "050003AB0303",
    ]


@pytest.mark.parametrize(
    ("reference", "octet"),
    [(0, "00"), (255, "FF"), (256, "00"), (257, "01"), (0x1AB, "AB")],
)
def test_reference_wraps_at_256(reference: int, octet: str) -> None:
    """The reference octet is the reference modulo 256."""
    assert codec.split("a" * 200, reference)[0].udh == f"050003{octet}0201"


def test_single_sms_has_no_udh() -> None:
    """A message that fits one SMS gets an empty UDH whatever the reference."""
    assert codec.split("Terima kasih, laporan Anda kami terima.", 99)[0].udh == ""


# --- agreement with python-gammu ------------------------------------------------

GAMMU_CASES = (
    ["a" * n for n in (0, 1, 152, 153, 154, 159, 160, 161, 306, 307, 459, 460)]
    + ["a" * n + "€" + "b" * 40 for n in range(150, 158)]
    + ["[" * n for n in (76, 77, 80, 81, 153)]
    + ["x" * n + EMOJI + "y" * 80 for n in range(64, 72)]
    + ["ā" * n for n in (67, 68, 69, 70, 71, 134, 135)]
    + [LONG_COMPLAINT, COMPLAINT, "Lapor: jalan € rusak. " * 30, "kata " * 100]
)


@pytest.mark.parametrize("text", GAMMU_CASES)
def test_part_count_agrees_with_gammu(text: str) -> None:
    """split makes as many parts as gammu's own ConcatenatedTextLong encoder."""
    assert len(codec.split(text, 1)) == len(_gammu_parts(text))


@pytest.mark.parametrize("text", [text for text in GAMMU_CASES if " " not in text])
def test_cuts_agree_with_gammu_without_spaces(text: str) -> None:
    """Where no word break moves a cut, the part texts equal gammu's exactly."""
    assert [part.text for part in codec.split(text, 1)] == _gammu_parts(text)


def test_parse_udh_reads_gammu_16bit_header() -> None:
    """The 16-bit concatenation header gammu writes parses to its numbers."""
    part = gammu.EncodeSMS(
        {
            "Class": -1,
            "Entries": [{"ID": "ConcatenatedTextLong16bit", "Buffer": "a" * 200}],
        }
    )[1]
    concat = codec.parse_udh(part["UDH"]["Text"].hex())
    assert concat == codec.Concat(part["UDH"]["ID16bit"], 2, 2, True)


# --- parse_udh ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("udh", "expected"),
    [
        ("050003AB0302", codec.Concat(0xAB, 3, 2, False)),
        ("050003ab0302", codec.Concat(0xAB, 3, 2, False)),
        ("06080412340301", codec.Concat(0x1234, 3, 1, True)),
        ("0B05040B8423F00003FE0201", codec.Concat(0xFE, 2, 1, False)),
        ("0B0003FE020205040B8423F0", codec.Concat(0xFE, 2, 2, False)),
        ("0C05040B8423F0080400070505", codec.Concat(7, 5, 5, True)),
    ],
    ids=["8bit", "lowercase", "16bit", "after-port", "before-port", "16bit-port"],
)
def test_parse_udh_finds_concatenation(udh: str, expected: codec.Concat) -> None:
    """8- and 16-bit concatenation elements parse, also among other elements."""
    assert codec.parse_udh(udh) == expected


def test_parse_udh_last_concatenation_element_wins() -> None:
    """With both an 8- and a 16-bit element, the later one is used."""
    assert codec.parse_udh("0B0003AB0201080400070303") == codec.Concat(7, 3, 3, True)


@pytest.mark.parametrize("udh", ["", "00", "06050412341234"])
def test_parse_udh_without_concatenation(udh: str) -> None:
    """An empty UDH or one with only other elements has no Concat."""
    assert codec.parse_udh(udh) is None


@pytest.mark.parametrize(
    "udh",
    [
        "060003AB0302",  # length octet too large
        "040003AB0302",  # length octet too small
        "060004AB030201",  # 8-bit element with four octets
        "0508031234020",  # odd number of hex digits
        "07080312340201",  # 16-bit element with three octets
        "050003AB0300",  # index 0
        "050003AB0204",  # index beyond total
        "050003AB0000",  # total 0
        "03000512",  # element runs past the end
        "0100",  # element header cut short
        "05zz03AB0302",  # not hex
        "05 0003AB0302",  # whitespace
    ],
)
def test_parse_udh_rejects_malformed(udh: str) -> None:
    """A malformed UDH raises CodecError."""
    with pytest.raises(codec.CodecError):
        codec.parse_udh(udh)


# --- inbox decoding -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_text", "coding", "expected"),
    [
        (
            "004C0061006D007000750020006A0061006C0061006E0020006D006100740069",
            "Default_No_Compression",
            "Lampu jalan mati",
        ),
        (
            "004800610072006700610020003520AC0020005B00700072006F006D006F005D",
            "Default_No_Compression",
            "Harga 5€ [promo]",
        ),
        (
            "00420061006E006A006900720020D83CDF0A002000500061006B",
            "Unicode_No_Compression",
            "Banjir \U0001f30a Pak",
        ),
        ("00420061006e006a00690072", "Unicode_No_Compression", "Banjir"),
        ("", "Default_No_Compression", ""),
        ("", "Unicode_Compression", ""),
        ("0041", "Default_Compression", "A"),
    ],
)
def test_decode_inbox_text(hex_text: str, coding: str, expected: str) -> None:
    """The Text column decodes as hex of UTF-16BE for every text coding."""
    assert codec.decode_inbox_text(hex_text, coding) == expected


def test_decode_inbox_text_replaces_lone_surrogate() -> None:
    """Half an emoji at the end of one part decodes to U+FFFD."""
    assert codec.decode_inbox_text("0041D83D", "Unicode_No_Compression") == "A\ufffd"


@pytest.mark.parametrize(
    ("hex_text", "coding"),
    [
        ("0B0504", "8bit"),
        ("0041", "Klingon"),
        ("004", "Default_No_Compression"),
        ("004100", "Default_No_Compression"),
        ("ZZZZ", "Unicode_No_Compression"),
        ("0041 0042", "Unicode_No_Compression"),
    ],
    ids=["8bit", "unknown-coding", "odd", "half-unit", "non-hex", "whitespace"],
)
def test_decode_inbox_text_rejects(hex_text: str, coding: str) -> None:
    """Binary codings, unknown codings and malformed hex raise CodecError."""
    with pytest.raises(codec.CodecError):
        codec.decode_inbox_text(hex_text, coding)


def test_codec_error_is_a_value_error() -> None:
    """CodecError can be caught as ValueError."""
    assert issubclass(codec.CodecError, ValueError)


def test_join_restores_surrogate_pair_split_across_parts() -> None:
    """An emoji whose halves sit in two parts is restored by joining the hex."""
    assert codec.join_parts_hex(["0041D83D", "DE000042"]) == f"A{EMOJI}B"


def test_join_replaces_unpaired_surrogate() -> None:
    """A high surrogate followed by no low surrogate becomes U+FFFD."""
    assert codec.join_parts_hex(["0041D83D", "0042"]) == "A\ufffdB"


def test_join_of_no_parts_is_empty() -> None:
    """Joining nothing gives the empty text."""
    assert codec.join_parts_hex([]) == ""


def test_join_rejects_malformed_part() -> None:
    """A part that is not whole UTF-16 units of hex raises CodecError."""
    with pytest.raises(codec.CodecError):
        codec.join_parts_hex(["0041", "004"])


@pytest.mark.parametrize(
    "template",
    [
        "SURGA: tiket {t}, cek: kirim CEK {t}",
        "SURGA #{t} Kel. Mojoroto: " + "jalan berlubang di depan sekolah " * 9,
        "SURGA #{t}: " + LONG_COMPLAINT,
        "{t}" + "x" * 150 + "{t}",  # tickets at both ends of a cut
        "ESKALASI #{t}: " + "€{}[]" * 70,  # extension characters weigh two
    ],
)
def test_a_layout_cuts_a_text_that_differs_in_digits_as_split_does(template: str) -> None:
    """Laid out with a stand-in ticket, the real text is cut exactly as split cuts it."""
    shape = codec.layout(template.replace("{t}", "0000000"))
    for ticket in ("1234567", "9999999", "5000001"):
        text = template.replace("{t}", ticket)
        assert codec.cut(text, shape) == codec.split(text, 0)


def test_a_layout_refuses_a_text_of_another_length() -> None:
    shape = codec.layout("SURGA #000000 diterima")
    assert codec.cut("SURGA #1234567 diterima", shape) is None


def test_nul_characters_are_dropped_from_inbox_text() -> None:
    """A NUL in an SMS is no text; kept, it would make PostgreSQL refuse the row."""
    hex_text = "air\x00pdam".encode("utf-16-be").hex().upper()
    assert codec.decode_inbox_text(hex_text, "Default_No_Compression") == "airpdam"
    assert codec.join_parts_hex([hex_text, hex_text]) == "airpdamairpdam"
