"""Normalise, classify and mask the sender numbers gammu-smsd stores.

gammu stores a sender exactly as the network presents it: ``+62812…``,
``62812…``, ``0812…`` or ``00628…`` for the same person, a name such as
``TELKOMSEL`` or a short code such as ``3`` for the operator, and nothing at all
for a USSD reply. Everything here is pure.
"""

from __future__ import annotations

import enum
import functools
import re
from typing import Final

import phonenumbers

from surgad import errors, numerals

DEFAULT_REGION: Final = "ID"
USSD_CLASS: Final = 127
BINARY_CODING: Final = "8bit"

_MAX_E164_DIGITS: Final = 15
_SHORT_CODE_DIGITS: Final = 6
# Separators people and networks put inside numbers; anything else that is not a
# digit or a leading plus makes the text something other than a phone number.
_SEPARATORS: Final = re.compile(r"[\s\-.()]")
_DIALLED: Final = re.compile(r"\+?[0-9]+")
# Indonesian mobile numbers in their three everyday forms. They are by far the
# most common senders, so they skip phonenumbers' general (and slower) parser;
# the result is the same E.164 number it would give.
# A bare 62 before nine national digits is left to phonenumbers: it reads some
# of those as national numbers.
_ID_MOBILE: Final = re.compile(r"(?:\+62|0)(8[1-9][0-9]{7,10})|62(8[1-9][0-9]{8,10})")
_SHORT_CODE: Final = re.compile(rf"\+?[0-9]{{1,{_SHORT_CODE_DIGITS}}}")
_INTERNATIONAL_PREFIX: Final = "00"

# Digits left visible by mask(): a few after the country code, a few at the end.
_MASK_HEAD: Final = 3
_MASK_TAIL: Final = 4
_MASK_MIN_HIDDEN: Final = 4


class PhoneError(errors.SurgadError, ValueError):
    """A text is not a possible phone number.

    The message shows the text masked (it may be a citizen's number and reach
    a log); ``reason`` alone says what is wrong, for callers that may show the
    text as written.
    """

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__(f"{reason}: {errors.shown(mask(raw))}")
        self.reason = reason


class SenderKind(enum.Enum):
    """Name who an inbox row comes from."""

    CITIZEN = "citizen"
    OPERATOR = "operator"
    SERVICE = "service"


@functools.lru_cache(maxsize=4096)
def normalise(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` as an E.164 number such as ``+6281234567890``.

    Accepts a leading ``+``, ``00``, the bare country code or the national trunk
    ``0``, with spaces, dashes, dots and parentheses anywhere. Digits are ASCII
    after folding (fullwidth digits count; see ``surgad.numerals``).

    Raises:
        PhoneError: ``raw`` holds letters or other symbols, or no reading of it
            is a possible number of at most 15 digits.
    """
    compact = _SEPARATORS.sub("", numerals.fold(raw))
    if region == DEFAULT_REGION and (mobile := _ID_MOBILE.fullmatch(compact)):
        return "+62" + (mobile.group(1) or mobile.group(2))
    if not _DIALLED.fullmatch(compact):
        raise PhoneError("not a phone number", raw)

    parsed = (_parse(text, region) for text in _readings(compact))
    possible = [number for number in parsed if number is not None]
    if not possible:
        raise PhoneError("not a possible phone number", raw)
    valid = [number for number in possible if phonenumbers.is_valid_number(number)]
    return _e164((valid or possible)[0])


def sender_kind(raw: str, sms_class: int, coding: str) -> SenderKind:
    """Classify the sender of one inbox row.

    An empty sender, a USSD reply (class 127) and a binary message (coding
    ``8bit``, which carries no text a person typed) are SERVICE. A name or a
    short code of up to six digits is OPERATOR, and so is any other sender that
    is not a possible phone number. A possible phone number is CITIZEN.
    """
    sender = raw.strip()
    if not sender or sms_class == USSD_CLASS or coding == BINARY_CODING:
        return SenderKind.SERVICE
    if _SHORT_CODE.fullmatch(sender) or any(map(str.isalpha, sender)):
        return SenderKind.OPERATOR
    try:
        normalise(sender)
    except PhoneError:
        return SenderKind.OPERATOR
    return SenderKind.CITIZEN


def mask(e164: str) -> str:
    """Hide the middle digits of a number for logs and forwarded SMS.

    ``+6281234567890`` becomes ``+62812****7890``: the country code, three
    national digits and the last four stay. Shorter numbers give up the tail
    first and then the head, so at least four digits are always hidden. Digits
    without a known country code are masked as a whole. Text with no digits (an
    operator name) is returned as is; any other text is hidden completely.
    """
    if not _DIALLED.fullmatch(e164):
        return "*" * len(e164) if any(ch.isdigit() for ch in e164) else e164
    plus = "+" if e164.startswith("+") else ""
    digits = e164.removeprefix("+")
    country = _country_code(digits) if plus else ""
    return plus + country + _mask_digits(digits[len(country) :])


def _readings(compact: str) -> list[str]:
    """Return the texts to parse, the most likely reading first.

    phonenumbers knows only Indonesia's 008/009 international prefixes, yet
    networks present ``00`` + country code, and no national number starts with
    ``00``; so that reading comes first.
    """
    if compact.startswith(_INTERNATIONAL_PREFIX):
        return ["+" + compact.removeprefix(_INTERNATIONAL_PREFIX), compact]
    return [compact]


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Parse one reading; return None unless it is a possible full number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None

    # IS_POSSIBLE_LOCAL_ONLY (a number without its area code) is not enough: a
    # reply could not reach it. phonenumbers allows Indonesian numbers up to 17
    # national digits, more than E.164 has room for.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return number if len(_e164(number)) - 1 <= _MAX_E164_DIGITS else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    """Format a parsed number as E.164."""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _country_code(digits: str) -> str:
    """Return the leading country calling code of ``digits``, or '' if none."""
    # Country codes are prefix-free, so the first known one is the only one.
    for length in (1, 2, 3):
        code = digits[:length]
        if len(code) == length and _is_country_code(code):
            return code
    return ""


@functools.cache  # at most 999 codes; asked for every forwarded complaint
def _is_country_code(code: str) -> bool:
    """Tell whether phonenumbers knows ``code`` as a country calling code."""
    region = phonenumbers.region_code_for_country_code(int(code))
    return region != phonenumbers.UNKNOWN_REGION


def _mask_digits(digits: str) -> str:
    """Replace the middle of a digit string with one ``*`` per hidden digit."""
    size = len(digits)
    tail = min(_MASK_TAIL, max(0, size - _MASK_HEAD - _MASK_MIN_HIDDEN))
    head = min(_MASK_HEAD, max(0, size - _MASK_MIN_HIDDEN - tail))
    hidden = size - head - tail
    return digits[:head] + "*" * hidden + digits[size - tail :]
