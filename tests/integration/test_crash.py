"""A daemon killed at any instant loses nothing and doubles nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import TZ, Line, wait_for

TEXTS = [
    "jalan berlubang di jl semeru tolong diaspal",
    "sampah di tps kel banjaran belum diangkut seminggu, bau",
    "lampu pju mati di jl veteran",
    "air pdam mati sejak kemarin di kel tosaren",
    "assalamualaikum min, selamat pagi",
]


def insert_like_gammu(line: Line, count: int) -> None:
    """Insert inbox rows exactly as gammu-smsd's SQL service stores them.

    Going through the dummy phone would take minutes for a thousand SMS; the
    rows are the same either way (``Text`` is hex UTF-16BE, times are local).
    """
    # gammu-smsd runs with TZ=Asia/Jakarta: ReceivingDateTime is Jakarta time.
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)
    rows = [
        {
            "ReceivingDateTime": now - dt.timedelta(seconds=count - i),
            "Text": TEXTS[i % len(TEXTS)].encode("utf-16-be").hex().upper(),
            "SenderNumber": f"+62812{3000000 + i:07d}",
            "Coding": "Default_No_Compression",
            "UDH": "",
            "SMSCNumber": "+6281100000",
            "Class": -1,
            "TextDecoded": TEXTS[i % len(TEXTS)],
            "RecipientID": "dummy",
        }
        for i in range(count)
    ]
    line.insert_inbox(rows)


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_handles_each_sms_once(
    make_line: Callable[..., Line],
) -> None:
    """kill -9 during a 1,000-SMS backlog, restart: every row settled exactly once."""
    line = make_line(with_gammu=False, service={"batch_size": 5, "workers": 2})
    insert_like_gammu(line, 1000)
    daemon = line.start_daemon()
    deadline = time.monotonic() + 60
    while line.settled() < 20 and time.monotonic() < deadline:
        time.sleep(0.005)  # small batches and a tight look: kill early in the run
    workers = _children_of(daemon.pid)
    assert workers, "the daemon runs its workers as child processes"
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=30)
    for child in workers:
        wait_for(lambda child=child: not _alive(child), 30, "orphaned workers to exit")
    midway = line.settled()
    assert 0 < midway < 1000, "the kill should land in the middle of the backlog"

    line.cli("run", "--once")

    assert line.settled() == 1000
    assert line.unprocessed() == 0
    assert (
        line.scalar(
            "SELECT COUNT(*) FROM inbox i LEFT JOIN surgad_inbox_outcome o "
            "ON o.inbox_id = i.ID WHERE o.inbox_id IS NULL"
        )
        == 0
    )
    complaints = line.scalar("SELECT COUNT(*) FROM surgad_complaint")
    assert complaints == 800  # four in five texts are complaints
    acks = line.scalar(
        "SELECT COUNT(*) FROM outbox WHERE CreatorID LIKE 'surgad/ack/%'"
    )
    assert acks == complaints
    per_citizen = line.query(
        "SELECT citizen, COUNT(*) FROM surgad_complaint GROUP BY citizen "
        "HAVING COUNT(*) > 1"
    )
    assert per_citizen == []


def _children_of(pid: int) -> list[int]:
    """Return the pids of a process's children (the worker processes)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            children.append(int(status.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("group", [True, False], ids=["terminal_closed", "kill_hup"])
def test_sighup_stops_the_daemon_as_sigterm_does(
    make_line: Callable[..., Line], group: bool
) -> None:
    """SIGHUP, to the daemon or its whole group as a closed terminal sends it:
    workers finish, exit 0, and nothing is left for multiprocessing to clean up."""
    line = make_line(with_gammu=False)
    daemon = line.start_daemon(own_group=True)
    wait_for(lambda: line.daemon_log_text().count("worker_started") == 2, 60,
             "both workers to start")
    insert_like_gammu(line, 5)
    line.wait_settled(5)

    if group:
        os.killpg(daemon.pid, signal.SIGHUP)
    else:
        daemon.send_signal(signal.SIGHUP)
    assert daemon.wait(timeout=60) == 0
    log = line.daemon_log_text()
    assert "shutdown_requested" in log and log.count("worker_stopped") == 2, log
    assert "resource_tracker" not in log, log
