"""Write the SMS texts that citizens, unit heads and the mayor receive.

Texts are Indonesian, short and GSM-friendly: one SMS where the content allows,
plain words a basic phone shows well, and the ticket code always up front.
"""

from __future__ import annotations

from surgad import phone

SERVICE = "SURGA Kota Kediri"
_TRIAGE_NAME = "petugas SURGA"


def acknowledgement(ticket: str, unit_short: str, triage: bool) -> str:
    """Tell a citizen the complaint arrived, where it went and how to follow it."""
    where = _TRIAGE_NAME if triage else unit_short
    return (
        f"SURGA: Aduan Anda diterima, no tiket {ticket}, diteruskan ke {where}. "
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
    return f"SURGA #{ticket}{place}{note}: {text.strip()} (dari {sender})"


def escalation(ticket: str, unit_short: str, waited: str, text: str) -> str:
    """Tell the mayor a unit has not followed up in time."""
    return (
        f"ESKALASI SURGA #{ticket}: {unit_short} belum menindaklanjuti "
        f"selama {waited}. Aduan: {text.strip()}"
    )


def resolution(ticket: str, unit_short: str, note: str) -> str:
    """Tell a citizen the complaint has been resolved."""
    return (
        f"SURGA: Aduan no {ticket} telah diselesaikan oleh {unit_short}. "
        f"Keterangan: {note.strip()}. Terima kasih."
    )


def referral() -> str:
    """Tell a citizen the matter is not one a city unit can act on."""
    return (
        "SURGA: Maaf, hal ini di luar wewenang Pemkot Kediri (mis. listrik: PLN, "
        "sinyal: operator, wilayah Kabupaten Kediri: Pemkab). Mohon hubungi "
        "instansi terkait."
    )
