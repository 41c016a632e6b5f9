"""Split outgoing SMS text into parts and decode the hex columns gammu stores.

Everything here is pure: no database, no clock, no logging. The limits follow
GSM 03.38 and 03.40 as gammu-smsd applies them:

* A single SMS holds 160 septets of the GSM default alphabet or 70 UTF-16 code
  units of UCS-2.
* A part of a concatenated SMS gives 6 octets to the concatenation header and
  keeps 153 septets or 67 UTF-16 units.
* An extension character (``€ [ ] { } ~ ^ \\ |`` and form feed) is an escape
  septet plus one more, so it costs two septets and must not be cut in half.
  An astral character (most emoji) is a surrogate pair, two UTF-16 units, and
  must not be cut in half either.

gammu-smsd never splits an outbox row itself, so :func:`split` is what keeps a
long reply readable instead of truncated or sent empty.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

from surgad import errors

GSM_CODING: Final = "Default_No_Compression"
UCS2_CODING: Final = "Unicode_No_Compression"

SINGLE_SEPTETS: Final = 160
PART_SEPTETS: Final = 153
SINGLE_UNITS: Final = 70
PART_UNITS: Final = 67
MAX_PARTS: Final = 255

# The GSM 03.38 default alphabet in code order, sixteen codes to a line. The
# escape code 0x1B is left out: it is no character but the prefix of the
# extension table.
GSM_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")

_GSM_LIMITS: Final = (SINGLE_SEPTETS, PART_SEPTETS)
_UCS2_LIMITS: Final = (SINGLE_UNITS, PART_UNITS)

_TEXT_CODINGS: Final = frozenset(
    {GSM_CODING, UCS2_CODING, "Default_Compression", "Unicode_Compression"}
)
_BINARY_CODING: Final = "8bit"
_HEX: Final = re.compile(r"[0-9A-Fa-f]*")
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")

# A cut moves back to just after a space or newline found within this many
# characters before the fullest possible cut, so a phone that shows parts one by
# one does not show a word broken in two.
_BREAK_LOOKBACK: Final = 10
_BREAKS: Final = frozenset(" \n")

_IEI_CONCAT_8BIT: Final = 0x00
_IEI_CONCAT_16BIT: Final = 0x08


class CodecError(errors.SurgadError, ValueError):
    """Text cannot be encoded, or a stored hex column or UDH is malformed."""


class Part(NamedTuple):
    """Hold one SMS of an outgoing message, ready for an outbox row.

    A named tuple, not a frozen dataclass: several are made per SMS, and a
    tuple is made in a third of the time.
    """

    text: str
    udh: str  # uppercase hex with its length octet; '' for a single SMS
    coding: str  # GSM_CODING or UCS2_CODING


@dataclasses.dataclass(frozen=True)
class Concat:
    """Hold the concatenation header of one received part."""

    reference: int
    total: int
    index: int  # 1-based
    wide: bool  # True for a 16-bit reference (IEI 08)


def is_gsm(text: str) -> bool:
    """Tell whether every character is in the GSM default alphabet or extension."""
    return _GSM_TEXT.fullmatch(text) is not None


_GSM_BASIC_TEXT: Final = re.compile(
    "[" + "".join(re.escape(ch) for ch in sorted(GSM_BASIC)) + "]*"
)
_GSM_TEXT: Final = re.compile(
    "[" + "".join(re.escape(ch) for ch in sorted(GSM_BASIC | GSM_EXTENSION)) + "]*"
)


def septets(text: str) -> int:
    """Count the septets ``text`` takes in GSM 7-bit coding.

    An extension character counts two. A character outside the alphabet counts
    one, the room gammu gives the ``?`` it sends in its place.
    """
    return sum(_septet_weight(ch) for ch in text)


def weight(text: str, gsm: bool) -> int:
    """Return the room ``text`` takes: septets in GSM 7-bit, else UTF-16 units."""
    return sum(_weights(text, gsm))


def split(text: str, reference: int) -> list[Part]:
    """Cut ``text`` into the fewest SMS parts, each within its coding's limit.

    The coding is GSM 7-bit when :func:`is_gsm` holds and UCS-2 otherwise.
    Text that fits one SMS is one part with no UDH. Longer text gets parts with
    the UDH ``050003RRNNPP`` where RR is ``reference & 0xFF``. A cut never falls
    inside an extension character or a surrogate pair. Where a space or newline
    lies among the last few characters before a cut, the cut moves to just
    after it, unless that would need more parts than the minimum.

    Raises:
        CodecError: ``text`` holds a lone surrogate or needs more than 255 parts.
    """
    if len(text) <= SINGLE_SEPTETS and _GSM_BASIC_TEXT.fullmatch(text):
        return [Part(text, "", GSM_CODING)]  # the common case: one plain SMS
    if _LONE_SURROGATE.search(text):
        raise CodecError("text holds a lone UTF-16 surrogate")

    gsm = is_gsm(text)
    coding = GSM_CODING if gsm else UCS2_CODING
    weights = _weights(text, gsm)
    single, per_part = _GSM_LIMITS if gsm else _UCS2_LIMITS
    if sum(weights) <= single:
        return [Part(text, "", coding)]

    cuts = _cut_points(text, weights, per_part)
    total = len(cuts) - 1
    return [
        Part(text[start:end], concat_udh(reference, total, index), coding)
        for index, (start, end) in enumerate(itertools.pairwise(cuts), start=1)
    ]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where ``split`` cut one text, to cut another like it without the work.

    The cuts depend only on the text's length, the weight of each character and
    where its spaces and newlines are. Two texts of the same length that differ
    only in digits (a placeholder ticket and the real one) are cut alike.
    """

    coding: str
    ends: tuple[int, ...]  # end offset of each part


def layout(text: str) -> Layout:
    """Return how ``split`` cuts ``text``.

    Raises:
        CodecError: as ``split``.
    """
    ends: list[int] = []
    parts = split(text, 0)
    for part in parts:
        ends.append((ends[-1] if ends else 0) + len(part.text))
    return Layout(parts[0].coding, tuple(ends))


def cut(text: str, shape: Layout) -> list[Part] | None:
    """Cut ``text`` as ``shape`` says, or return None if it does not fit it.

    Only the length is checked: the caller vouches that ``text`` differs from
    the laid-out text in digits at most. Parts of a long text carry the UDH of
    reference 0, as ``split(text, 0)`` would.
    """
    if len(text) != shape.ends[-1]:
        return None
    if len(shape.ends) == 1:
        return [Part(text, "", shape.coding)]
    total = len(shape.ends)
    starts = (0, *shape.ends[:-1])
    return [
        Part(text[start:end], concat_udh(0, total, index), shape.coding)
        for index, (start, end) in enumerate(zip(starts, shape.ends, strict=True), start=1)
    ]


def concat_udh(reference: int, total: int, index: int) -> str:
    """Format the 8-bit-reference concatenation UDH of one part as uppercase hex."""
    return "050003" + _OCTETS[reference & 0xFF] + _OCTETS[total] + _OCTETS[index]


_OCTETS: Final = tuple(f"{value:02X}" for value in range(256))  # looked up, not formatted


def decode_inbox_text(hex_text: str, coding: str) -> str:
    """Decode the ``Text`` column of one gammu inbox row.

    For the text codings gammu stores the part's text as hex of UTF-16BE (gammu
    1.42 leaves it empty for the two compressed codings). An unpaired surrogate,
    left by a sender that split an emoji across parts, becomes U+FFFD; use
    :func:`join_parts_hex` to restore it from all the parts. NUL characters
    are dropped (see ``_readable``).

    Raises:
        CodecError: the coding is ``8bit`` (binary data, not text) or unknown,
            or ``hex_text`` is not whole UTF-16 units of hex.
    """
    if coding == _BINARY_CODING:
        raise CodecError("8bit message carries binary data, not text")
    if coding not in _TEXT_CODINGS:
        raise CodecError(f"unknown coding {coding!r}")
    return _readable(_unhex_utf16(hex_text).decode("utf-16-be", errors="replace"))


def join_parts_hex(hex_parts: Sequence[str]) -> str:
    """Decode the ``Text`` hex of several parts, given in part order, as one text.

    Decoding once after joining restores a surrogate pair that the sender's
    phone split across two parts. A surrogate still unpaired becomes U+FFFD.

    Raises:
        CodecError: a part is not whole UTF-16 units of hex.
    """
    joined = b"".join(_unhex_utf16(part) for part in hex_parts)
    return _readable(joined.decode("utf-16-be", errors="replace"))


def _readable(text: str) -> str:
    """Drop NUL characters: no person types one, and PostgreSQL cannot store one."""
    return text.replace("\x00", "") if "\x00" in text else text


def parse_udh(udh_hex: str) -> Concat | None:
    """Find the concatenation element in the ``UDH`` hex of one inbox row.

    Both the 8-bit (IEI 00) and the 16-bit (IEI 08) reference forms are read,
    also among other information elements. Returns None when the UDH is empty
    or has no concatenation element.

    Raises:
        CodecError: the UDH is not hex, its length octet or an element length
            disagrees with the data, or the part numbers are impossible.
    """
    data = _unhex(udh_hex)
    if not data:
        return None
    if data[0] != len(data) - 1:
        raise CodecError(f"UDH length octet says {data[0]}, data has {len(data) - 1}")

    found: Concat | None = None
    for iei, body in _elements(data[1:]):
        # 3GPP TS 23.040 (9.2.3.24) resolves a repeated or mutually exclusive
        # element in favour of its last occurrence, so a later one overrides.
        if iei in (_IEI_CONCAT_8BIT, _IEI_CONCAT_16BIT):
            found = _concat(iei, body)
    return found


_ASTRAL: Final = re.compile("[\U00010000-\U0010FFFF]")


def _weights(text: str, gsm: bool) -> list[int]:
    """Return the room each character takes in its part (see below)."""
    if gsm and _GSM_BASIC_TEXT.fullmatch(text):
        return [1] * len(text)  # the common case, without a call per character
    if not gsm and not _ASTRAL.search(text):
        return [1] * len(text)
    return [_septet_weight(ch) if gsm else _unit_weight(ch) for ch in text]


def _septet_weight(ch: str) -> int:
    """Return the septets one character takes: two for the extension table."""
    return 2 if ch in GSM_EXTENSION else 1


def _unit_weight(ch: str) -> int:
    """Return the UTF-16 code units one character takes: two above the BMP."""
    return 2 if ord(ch) > 0xFFFF else 1


def _cut_points(text: str, weights: Sequence[int], capacity: int) -> list[int]:
    """Return the part boundaries as offsets into ``text``, from 0 to its length.

    Raises:
        CodecError: the text needs more than MAX_PARTS parts.
    """
    if sum(weights) > MAX_PARTS * capacity:  # hopeless: skip the work below
        raise CodecError(f"text needs more than {MAX_PARTS} parts")
    prefix = list(itertools.accumulate(weights, initial=0))
    remaining = _PartsNeeded(prefix, capacity)
    if remaining[0] > MAX_PARTS:
        raise CodecError(f"text needs more than {MAX_PARTS} parts")

    cuts = [0]
    budget = remaining[0]
    while cuts[-1] < len(text):
        budget -= 1
        fullest = _fullest_end(prefix, cuts[-1], capacity)
        cuts.append(_readable_end(text, cuts[-1], fullest, remaining, budget))
    return cuts


def _fullest_end(prefix: Sequence[int], start: int, capacity: int) -> int:
    """Return the furthest end offset whose part from ``start`` fits ``capacity``."""
    # prefix strictly increases (every weight is at least one), and capacity is
    # at least the largest weight, so the end is always past start.
    return bisect.bisect_right(prefix, prefix[start] + capacity) - 1


class _PartsNeeded(dict[int, int]):
    """Map an offset to the fewest parts that hold the text after it.

    Filling each part as full as possible is optimal for cutting a sequence into
    runs of bounded weight, so the count follows the fullest cuts. Only the
    offsets a cut may move to are ever asked for, so each is worked out on
    demand rather than for every offset of the text.
    """

    def __init__(self, prefix: Sequence[int], capacity: int) -> None:
        super().__init__()
        self.prefix = prefix
        self.capacity = capacity

    def __missing__(self, start: int) -> int:
        length = len(self.prefix) - 1
        parts, offset = 0, start
        while offset < length:
            offset = _fullest_end(self.prefix, offset, self.capacity)
            parts += 1
        self[start] = parts
        return parts


def _readable_end(
    text: str, start: int, fullest: int, remaining: _PartsNeeded, budget: int
) -> int:
    """Move a cut back to just after a nearby break if the part budget allows."""
    if fullest == len(text):
        return fullest
    for end in range(fullest, max(start, fullest - _BREAK_LOOKBACK), -1):
        if text[end - 1] in _BREAKS and remaining[end] <= budget:
            return end
    return fullest


def _unhex(hex_text: str) -> bytes:
    """Decode strict hex (no spaces, even length) into bytes.

    Raises:
        CodecError: ``hex_text`` holds a non-hex character or has odd length.
    """
    if not _HEX.fullmatch(hex_text) or len(hex_text) % 2:
        raise CodecError(f"not hex octets ({len(hex_text)} characters)")
    return bytes.fromhex(hex_text)


def _unhex_utf16(hex_text: str) -> bytes:
    """Decode hex that must hold whole UTF-16 code units (four digits each).

    Raises:
        CodecError: ``hex_text`` is not hex or not a multiple of four digits.
    """
    if len(hex_text) % 4:
        raise CodecError(f"hex is not whole UTF-16 units ({len(hex_text)} digits)")
    return _unhex(hex_text)


def _elements(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield each information element of a UDH body as (IEI, element data).

    Raises:
        CodecError: an element runs past the end of the UDH.
    """
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise CodecError("UDH element header is cut short")
        iei, size = data[offset], data[offset + 1]
        body = data[offset + 2 : offset + 2 + size]
        if len(body) != size:
            raise CodecError(f"UDH element {iei:02X} is cut short")
        yield iei, body
        offset += 2 + size


def _concat(iei: int, body: bytes) -> Concat:
    """Read one concatenation element body into a Concat.

    Raises:
        CodecError: the body has the wrong length or impossible part numbers.
    """
    wide = iei == _IEI_CONCAT_16BIT
    if len(body) != (4 if wide else 3):
        raise CodecError(f"concatenation element {iei:02X} has {len(body)} octets")
    reference = int.from_bytes(body[:-2], "big")
    total, index = body[-2], body[-1]
    if total == 0 or not 1 <= index <= total:
        raise CodecError(f"impossible concatenation part {index} of {total}")
    return Concat(reference=reference, total=total, index=index, wide=wide)
