"""Pin sender number normalisation, classification and masking of surgad.phone."""

from __future__ import annotations

import pytest

from surgad import phone

CITIZEN = "+6281234567890"


@pytest.mark.parametrize(
    "raw",
    [
        "+6281234567890",
        "6281234567890",
        "081234567890",
        "006281234567890",
        "81234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "0812.3456.7890",
        "(0812) 3456-7890",
        "+62 812-3456-7890",
        " +62 812 3456 7890 ",
        "0062 (812) 3456.7890",
    ],
)
def test_normalise_indonesian_forms(raw: str) -> None:
    """Every way a network or person writes the number gives one E.164 form."""
    assert phone.normalise(raw) == CITIZEN


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("021 555 1234", "+62215551234"),
        ("+62 21 5551234", "+62215551234"),
        ("+65 9123 4567", "+6591234567"),
        ("0065 9123 4567", "+6591234567"),
        ("0086 139 1234 5678", "+8613912345678"),
        ("+1 (650) 253-0000", "+16502530000"),
    ],
)
def test_normalise_landlines_and_foreign_numbers(raw: str, expected: str) -> None:
    """Jakarta landlines and foreign numbers normalise; 00 is read as international."""
    assert phone.normalise(raw) == expected


def test_normalise_other_default_region() -> None:
    """A national number is read in the region passed in."""
    assert phone.normalise("9123 4567", region="SG") == "+6591234567"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "TELKOMSEL",
        "3Care",
        "1-800-FLOWERS",
        "3",
        "123",
        "99899",
        "0812",
        "+62",
        "+62+81234567890",
        "0812345678901234567",
        "+62 812 3456 7890 1234",
        "0812/3456/7890",
        "0812-3456-7890 ext 12",
        "\u0660\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660",
    ],
)
def test_normalise_rejects_what_is_not_a_possible_number(raw: str) -> None:
    """Names, short codes, local-only, overlong and odd symbols raise PhoneError."""
    with pytest.raises(phone.PhoneError):
        phone.normalise(raw)


def test_phone_error_is_a_value_error() -> None:
    """PhoneError can be caught as ValueError."""
    assert issubclass(phone.PhoneError, ValueError)


def test_phone_error_message_masks_the_number() -> None:
    """The error text does not carry the full digits into a log."""
    with pytest.raises(phone.PhoneError) as caught:
        phone.normalise("0812 3456 78901234")
    assert "3456" not in str(caught.value)


def test_normalise_is_cached() -> None:
    """A repeated sender is answered from the cache."""
    phone.normalise("0812-9999-0000")
    hits = phone.normalise.cache_info().hits
    phone.normalise("0812-9999-0000")
    assert phone.normalise.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    ("raw", "sms_class", "coding", "expected"),
    [
        ("", 1, "Default_No_Compression", phone.SenderKind.SERVICE),
        ("   ", -1, "Default_No_Compression", phone.SenderKind.SERVICE),
        ("", 127, "Default_No_Compression", phone.SenderKind.SERVICE),
        ("+6281234567890", 127, "Unicode_No_Compression", phone.SenderKind.SERVICE),
        ("+6281234567890", -1, "8bit", phone.SenderKind.SERVICE),
        ("TELKOMSEL", -1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("INFO", 1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("3Care", -1, "Unicode_No_Compression", phone.SenderKind.OPERATOR),
        ("by.U", -1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("3", -1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("123", -1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("99899", 1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("+888", -1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("999999999999999999", -1, "Default_No_Compression", phone.SenderKind.OPERATOR),
        ("+6281234567890", -1, "Default_No_Compression", phone.SenderKind.CITIZEN),
        ("081234567890", 1, "Unicode_No_Compression", phone.SenderKind.CITIZEN),
        ("6281234567890", -1, "Default_No_Compression", phone.SenderKind.CITIZEN),
        ("006281234567890", -1, "Default_No_Compression", phone.SenderKind.CITIZEN),
        ("+6281234567890", 0, "Default_No_Compression", phone.SenderKind.CITIZEN),
        ("+6591234567", -1, "Default_No_Compression", phone.SenderKind.CITIZEN),
    ],
    ids=[
        "empty",
        "blank",
        "ussd",
        "ussd-with-number",
        "binary",
        "operator-name",
        "info",
        "name-with-digit",
        "name-with-dot",
        "one-digit",
        "three-digits",
        "five-digits",
        "plus-short",
        "garbage-digits",
        "e164",
        "national",
        "country-code-no-plus",
        "double-zero",
        "flash-sms",
        "foreign",
    ],
)
def test_sender_kind(
    raw: str, sms_class: int, coding: str, expected: phone.SenderKind
) -> None:
    """Service messages, operator names and short codes are told from citizens."""
    assert phone.sender_kind(raw, sms_class, coding) is expected


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+6281234567890", "+62812****7890"),
        ("+62812345678901", "+62812*****8901"),
        ("+628123456789", "+62812****789"),
        ("+62215551234", "+62215****34"),
        ("+628123456", "+62812****"),
        ("+6591234567", "+65912****7"),
        ("+16502530000", "+1650****000"),
        ("+6212345", "+621****"),
        ("+62", "+62"),
    ],
)
def test_mask(e164: str, expected: str) -> None:
    """Country code, three national digits and the last four stay visible."""
    assert phone.mask(e164) == expected


@pytest.mark.parametrize("size", range(1, 16))
def test_mask_always_hides_four_national_digits(size: int) -> None:
    """However short the national number, at least four digits (or all) are hidden."""
    assert phone.mask("+62" + "7" * size).count("*") >= min(size, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TELKOMSEL", "TELKOMSEL"),
        ("", ""),
        ("3", "*"),
        ("081234567890", "081*****7890"),
        ("0812-3456-7890", "**************"),
        ("INFO3", "*****"),
    ],
)
def test_mask_never_raises_on_other_text(text: str, expected: str) -> None:
    """Names pass through; other text with digits is masked, never echoed."""
    assert phone.mask(text) == expected


def test_mobile_fast_path_agrees_with_phonenumbers() -> None:
    """The shortcut for everyday Indonesian mobile forms gives phonenumbers' answer."""
    import random

    import phonenumbers as pn

    rng = random.Random(7)
    for _ in range(2000):
        national = "8" + str(rng.randint(1, 9))
        national += "".join(rng.choice("0123456789") for _ in range(rng.randint(7, 10)))
        for form in ("0" + national, "62" + national, "+62" + national):
            expected = pn.format_number(
                pn.parse(form if form.startswith(("0", "+")) else "+" + form, "ID"),
                pn.PhoneNumberFormat.E164,
            ) if not (form.startswith("62") and len(national) == 9) else None
            if expected is not None:
                assert phone.normalise(form) == expected, form


def test_fullwidth_number_normalises_to_ascii() -> None:
    """A number typed in fullwidth digits gives the ASCII E.164 form."""
    fullwidth = "".join(chr(0xFF10 + int(d)) if d.isdigit() else d for d in "0812-3456-7890")
    assert phone.normalise(fullwidth) == CITIZEN


@pytest.mark.parametrize("raw", ["081" + "٢٣٤٥٦٧٨٩٠", "٠٨١٢٣٤٥٦٧٨٩٠", "+62 ८१२ 3456 7890"])
def test_other_scripts_digits_are_not_a_number(raw: str) -> None:
    """Digits of other scripts, alone or mixed in, make no phone number."""
    with pytest.raises(phone.PhoneError):
        phone.normalise(raw)
