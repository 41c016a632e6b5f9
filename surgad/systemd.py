"""Talk to systemd's notify socket; do nothing when not run by systemd."""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send one sd_notify state line; return False when there is no socket."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Return how often systemd wants a WATCHDOG ping, in seconds, if at all."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return None
    return int(usec) / 1_000_000 / 2
