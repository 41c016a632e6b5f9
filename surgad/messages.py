"""Write the SMS texts that citizens, unit heads and the mayor receive.

Texts are Indonesian, short and GSM-friendly: one SMS where the content allows,
plain words a basic phone shows well, and the ticket code always up front.
"""

from __future__ import annotations

import re

from surgad import phone

SERVICE = "SURGA Kota Kediri"
# A complaint's text, or a unit's note, inside an SMS is cut here (about six
# SMS parts on a basic phone); the whole text stays in `surgad complaints
# show`. The CLI refuses a longer note instead, so staff can shorten it.
MAX_QUOTED = 800
# The citizen's SMS that carries a staff note may take this many parts: as many
# as a note of MAX_QUOTED plain characters fills, so every plain note of that
# length still goes. One emoji or letter outside the GSM alphabet sends the
# whole SMS in UCS-2, which holds less than half as much per part.
MAX_NOTE_PARTS = 6


# Control characters other than line breaks: a basic phone shows them as
# boxes or acts on them, and most would send the whole SMS in UCS-2.
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _clip(text: str) -> str:
    """Quote a citizen's or staff's text: controls as spaces, cut to MAX_QUOTED."""
    text = _CONTROL.sub(" ", text).strip()
    if len(text) <= MAX_QUOTED:
        return text
    # Three dots, not "…": that one character is outside the GSM alphabet and
    # would send a whole plain-text SMS in UCS-2, in about twice the parts.
    return text[: MAX_QUOTED - 3].rstrip() + "..."


_TRIAGE_NAME = "petugas SURGA"
_MAYOR_NAME = "Wali Kota"


def acknowledgement(ticket: str, unit_short: str, triage: bool, to_mayor: bool = False) -> str:
    """Tell a citizen the complaint arrived, where it went and how to follow it.

    ``to_mayor``: the unit has no heads, so the complaint went to the mayor.
    """
    unit = _TRIAGE_NAME if triage else unit_short
    where = f"untuk {unit}, diteruskan ke {_MAYOR_NAME}" if to_mayor else f"diteruskan ke {unit}"
    return (
        f"SURGA: Aduan Anda diterima, no tiket {ticket}, {where}. "
        f"Cek status: kirim CEK {ticket}"
    )


def forward(
    ticket: str,
    text: str,
    citizen: str,
    kelurahan: str | None,
    mask: bool,
    incomplete: bool,
) -> str:
    """Pass a complaint to the head of the responsible unit."""
    sender = phone.mask(citizen) if mask else citizen
    place = f" Kel. {kelurahan}" if kelurahan else ""
    note = " (SMS tidak lengkap)" if incomplete else ""
    return f"SURGA #{ticket}{place}{note}: {_clip(text)} (dari {sender})"


def escalation(ticket: str, unit_short: str, waited: str, text: str) -> str:
    """Tell the mayor a unit has not followed up in time."""
    return (
        f"ESKALASI SURGA #{ticket}: {unit_short} belum menindaklanjuti "
        f"selama {waited}. Aduan: {_clip(text)}"
    )


def escalation_no_heads(
    ticket: str, unit_short: str, text: str, sender: str, kelurahan: str | None
) -> str:
    """Give the mayor a complaint at once: its unit has no head to forward it to."""
    place = f" Kel. {kelurahan}" if kelurahan else ""
    return (
        f"ESKALASI SURGA #{ticket}: {unit_short} belum punya kepala unit terdaftar. "
        f"Aduan{place}: {_clip(text)} (dari {sender})"
    )


def resolution(ticket: str, unit_short: str, note: str) -> str:
    """Tell a citizen the complaint has been resolved."""
    return (
        f"SURGA: Aduan no {ticket} telah diselesaikan oleh {unit_short}. "
        f"Keterangan: {_clip(note)}. Terima kasih."
    )


def referral() -> str:
    """Tell a citizen the matter is not one a city unit can act on."""
    return (
        "SURGA: Maaf, hal ini di luar wewenang Pemkot Kediri (mis. listrik: PLN, "
        "sinyal: operator, wilayah Kabupaten Kediri: Pemkab). Mohon hubungi "
        "instansi terkait."
    )


_STATES = {
    "open": "menunggu tindak lanjut",
    "acked": "sedang ditangani",
    "resolved": "selesai",
}


def status(ticket: str, unit_short: str, state: str, note: str | None) -> str:
    """Tell the citizen who filed a ticket where it stands."""
    text = f"SURGA: Tiket {ticket} ({unit_short}): {_STATES.get(state, state)}."
    return text + (f" Catatan: {_clip(note)}" if note else "")


def status_unknown() -> str:
    """Answer a status query for a ticket this number did not file."""
    return "SURGA: Tiket tidak ditemukan untuk nomor Anda. Cek kembali nomor tiketnya."


def no_complaints() -> str:
    """Answer a status query from a number with no complaint on record."""
    return "SURGA: Belum ada aduan dari nomor ini. Kirim aduan Anda ke nomor ini."


_HOW_TO_COMPLAIN = "kirim aduan Anda ke nomor ini (sebut kelurahan)"


def help_text() -> str:
    """Explain the line in one SMS."""
    return (
        f"{SERVICE}: {_HOW_TO_COMPLAIN}. "
        "Cek status: CEK <tiket>. Belum beres: BELUM <tiket>. Info: INFO"
    )


def citizen_format(example: str) -> str:
    """Show a citizen the format of the command their SMS started like.

    The SMS may have been a complaint surgad did not recognise: the answer
    also says how to send one.
    """
    return f"SURGA: Format salah. Gunakan: {example}. Untuk aduan baru, {_HOW_TO_COMPLAIN}."


def followup(ticket: str, text: str, citizen: str, mask: bool) -> str:
    """Pass a citizen's addition to an open complaint to the unit."""
    sender = phone.mask(citizen) if mask else citizen
    return f"SURGA #{ticket} TAMBAHAN: {_clip(text)} (dari {sender})"


def accepted(ticket: str, unit_short: str) -> str:
    """Tell a citizen the unit has taken up the complaint."""
    return f"SURGA: Aduan no {ticket} sudah diterima {unit_short} dan sedang ditangani."


def progress(ticket: str, unit_short: str, note: str) -> str:
    """Pass a unit's progress note to the citizen."""
    return f"SURGA: Perkembangan aduan no {ticket} dari {unit_short}: {_clip(note)}"


def reassigned_citizen(ticket: str, unit_short: str, to_mayor: bool = False) -> str:
    """Tell a citizen the complaint moved to another unit (and on to the mayor)."""
    if to_mayor:
        return f"SURGA: Aduan no {ticket} dialihkan ke {unit_short}, diteruskan ke {_MAYOR_NAME}."
    return f"SURGA: Aduan no {ticket} dialihkan ke {unit_short} yang berwenang."


def reopened_unit(ticket: str, text: str, reason: str, by_citizen: bool = True) -> str:
    """Tell a unit a resolved complaint was reopened, by the citizen or by staff."""
    why = f" Alasan: {_clip(reason)}" if reason.strip() else ""
    who = "oleh pelapor (belum beres)" if by_citizen else f"oleh {_TRIAGE_NAME}"
    return f"SURGA #{ticket} DIBUKA LAGI {who}.{why} Aduan: {_clip(text)}"


def reopened_citizen(ticket: str, to_mayor: bool = False) -> str:
    """Tell a citizen the complaint is open again, and who has it now."""
    where = _MAYOR_NAME if to_mayor else "unit terkait"
    return f"SURGA: Aduan no {ticket} dibuka kembali dan diteruskan lagi ke {where}."


def reprimand(ticket: str, unit_short: str, text: str) -> str:
    """Pass the mayor's reminder to a unit's heads."""
    return (
        f"TEGURAN WALI KOTA: tiket #{ticket} untuk {unit_short} mohon segera "
        f"ditindaklanjuti. Aduan: {_clip(text)}"
    )


def reminder(ticket: str, left: str, text: str) -> str:
    """Remind heads that a ticket's deadline is near."""
    return f"SURGA PENGINGAT #{ticket}: batas waktu tindak lanjut {left} lagi. {_clip(text)}"


def head_done(what: str, ticket: str) -> str:
    """Confirm a head's command."""
    return f"SURGA: {what} tiket {ticket} tercatat."


# A number sent as a ticket is echoed in the refusal: cut one that is far too
# long to be a ticket, so a pasted number does not make a long SMS.
MAX_ECHOED_TICKET = 13


def head_repeated(what: str, ticket: str) -> str:
    """Tell the sender a command was carried out before, so nothing was sent again."""
    return f"SURGA: {what} tiket {ticket} sudah tercatat."


def head_refused(ticket: str | None) -> str:
    """Refuse a command without revealing anything about the ticket."""
    shown = ticket or "-"
    if len(shown) > MAX_ECHOED_TICKET:
        shown = shown[: MAX_ECHOED_TICKET - 1] + "..."
    return f"SURGA: Perintah untuk tiket {shown} tidak dapat diproses dari nomor ini."


def head_moved(what: str, ticket: str, unit_short: str, repeat: bool) -> str:
    """Tell a head a ticket already left their unit, so a command changes nothing.

    ``repeat``: the command is an ALIH to where the ticket went, already recorded.
    """
    if repeat:
        return f"SURGA: {what} tiket {ticket} ke {unit_short} sudah tercatat."
    return f"SURGA: Tiket {ticket} sudah dialihkan ke {unit_short}; {what} tidak diproses."


def head_format(word: str, example: str, codes: str = "") -> str:
    """Show a head the right format of a command."""
    extra = f" Kode unit: {codes}" if codes else ""
    return f"SURGA: Format salah. Gunakan: {example}{extra}"


def no_heads(what: str, ticket: str, unit_short: str) -> str:
    """Tell the mayor a command for a unit's heads reached nobody: it has none."""
    return f"SURGA: {what} tiket {ticket} tidak terkirim: {unit_short} belum punya kepala unit."


def head_state(ticket: str, state: str) -> str:
    """Tell a head a command changed nothing, and where the ticket stands."""
    return f"SURGA: Tiket {ticket} tidak berubah; status sekarang: {_STATES.get(state, state)}."


def head_list(unit_short: str, items: list[str], total: int) -> str:
    """List a head's open tickets; '!' marks overdue ones."""
    if not items:
        return f"SURGA: Tidak ada tiket terbuka untuk {unit_short}."
    more = f" (+{total - len(items)} lagi)" if total > len(items) else ""
    return f"SURGA {unit_short} tiket terbuka ({total}, !=lewat batas): " + ", ".join(
        items
    ) + more


def digest(day: str, received: int, in_time: int, overdue: dict[str, int]) -> str:
    """Summarise a day for the mayor."""
    late = ", ".join(f"{code} {count}" for code, count in sorted(overdue.items()) if count)
    return (
        f"SURGA {day}: aduan masuk {received}, ditindaklanjuti tepat waktu {in_time}. "
        f"Lewat batas: {late or 'tidak ada'}."
    )
