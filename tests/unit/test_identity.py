"""NIK and name never travel with the complaint text."""

from __future__ import annotations

import pytest

from surgad import identity

NIK = "3571020000003345"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (f"{NIK}#Siti Nurhayati#air pdam keruh", "Siti Nurhayati"),
        (f"Siti Nurhayati#{NIK}#air pdam keruh", "Siti Nurhayati"),
        (f"{NIK}#air pdam keruh", None),
        ("3571 0200 0000 3345#Siti#air pdam keruh", "Siti"),
        (f" {NIK} # Siti # air pdam keruh ", "Siti"),
    ],
)
def test_surga_format_variants(text: str, name: str | None) -> None:
    """The usual orders and spellings of NIK#Nama#Isi give NIK, name and body."""
    found = identity.split(text)
    assert found.nik == NIK
    assert found.name == name
    assert found.body == "air pdam keruh"


@pytest.mark.parametrize(
    "text",
    [
        f"NIK#{NIK}#Rina Kartika#lampu gang mati",
        f"NIK {NIK}#Rina Kartika#lampu gang mati",
        f"NIK: {NIK} # Nama: Rina Kartika # lampu gang mati",
        f"nik.{NIK}#nama Rina Kartika#lampu gang mati",
        "No NIK 3571 0200 0000 3345#Rina Kartika#lampu gang mati",
        f"No. KTP: {NIK}#Rina Kartika#lampu gang mati",
        f"KTP#{NIK}#Nama#Rina Kartika#lampu gang mati",
        f"Rina Kartika#NIK {NIK}#lampu gang mati",
    ],
)
def test_field_labels_are_dropped_with_the_name(text: str) -> None:
    """Labels such as "NIK:", "No KTP" or "Nama" leave the name out of the body."""
    found = identity.split(text)
    assert (found.nik, found.name, found.body) == (NIK, "Rina Kartika", "lampu gang mati")


@pytest.mark.parametrize("text", ["KTP#belum jadi", "cek #123", "NIK#salah#tolong"])
def test_labels_without_a_nik_leave_the_text_alone(text: str) -> None:
    """A "#" in a text with no NIK field, even next to "KTP", changes nothing."""
    assert identity.split(text) == identity.Split(text)


def test_nik_inside_free_text_is_redacted() -> None:
    """A NIK typed anywhere in the text is replaced and kept apart."""
    found = identity.split(f"ktp saya {NIK} belum jadi 3 bulan")
    assert found.body == f"ktp saya {identity.REDACTED} belum jadi 3 bulan"
    assert found.nik == NIK


def test_phone_numbers_and_plain_text_stay() -> None:
    """Phone numbers (up to 13 digits) and ordinary text are left alone."""
    text = "hubungi saya di 081234567890, jalan #3 rusak"
    found = identity.split(text)
    assert found == identity.Split(text)


def test_fullwidth_nik_is_stored_in_ascii() -> None:
    """A NIK typed in fullwidth digits is taken out and stored as ASCII digits."""
    fullwidth = "".join(chr(0xFF10 + int(digit)) for digit in NIK)
    found = identity.split(f"{fullwidth}#Siti#air pdam keruh")
    assert (found.nik, found.name, found.body) == (NIK, "Siti", "air pdam keruh")
    assert identity.split(f"ktp saya {fullwidth} hilang").body == "ktp saya [NIK] hilang"


def test_other_scripts_digits_are_hidden_but_not_a_nik() -> None:
    """An Arabic-Indic digit run of NIK length is redacted, not stored as a NIK."""
    arabic = "".join(chr(0x0660 + int(digit)) for digit in NIK)
    found = identity.split(f"ktp saya {arabic} hilang")
    assert found.nik is None
    assert found.body == f"ktp saya {identity.REDACTED} hilang"
