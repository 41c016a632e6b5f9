"""Two surgad hosts on one PostgreSQL or MariaDB share the inbox and the watchdog.

The hosts are separate processes with separate config files, as on two
machines; one is killed with SIGKILL mid-backlog and the other finishes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import TZ, Line, cli_env, wait_for

TEXTS = [
    "jalan berlubang di jl semeru tolong diaspal",
    "sampah di tps kel banjaran belum diangkut seminggu, bau",
    "lampu pju mati di jl veteran",
    "air pdam mati sejak kemarin di kel tosaren",
]

pytestmark = pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)


def backlog(line: Line, count: int) -> None:
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)
    line.insert_inbox([
        {
            "ReceivingDateTime": now - dt.timedelta(seconds=count - i),
            "Text": TEXTS[i % len(TEXTS)].encode("utf-16-be").hex().upper(),
            "SenderNumber": f"+62812{5000000 + i:07d}", "Coding": "Default_No_Compression",
            "UDH": "", "SMSCNumber": "+6281100000", "Class": -1,
            "TextDecoded": TEXTS[i % len(TEXTS)], "RecipientID": "modem1",
        }
        for i in range(count)
    ])


def second_host(line: Line) -> subprocess.Popen[bytes]:
    """Start another ``surgad run`` with its own copy of the config."""
    config = line.directory / "host-b.toml"
    shutil.copy(line.config, config)
    with (line.directory / "host-b.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "surgad", "--config", str(config), "run"],
            stdout=log, stderr=subprocess.STDOUT, env=cli_env(),
        )


def test_two_hosts_share_the_inbox_and_survive_one_dying(
    make_line: Callable[..., Line],
) -> None:
    """Every SMS is handled once although one host dies mid-batch."""
    line = make_line(with_gammu=False, service={"batch_size": 25, "workers": 2})
    backlog(line, 1200)
    host_a = line.start_daemon()
    host_b = second_host(line)
    try:
        wait_for(lambda: line.settled() >= 200, 60, "both hosts to be working")
        host_a.send_signal(signal.SIGKILL)
        line.wait_settled(1200, timeout=120)
    finally:
        host_b.send_signal(signal.SIGTERM)
        assert host_b.wait(timeout=60) == 0

    assert line.scalar("SELECT COUNT(*) FROM surgad_inbox_outcome") == 1200
    assert line.scalar("SELECT COUNT(*) FROM surgad_complaint") == 1200
    assert line.scalar(
        "SELECT COUNT(*) FROM outbox WHERE CreatorID LIKE 'surgad/ack/%'") == 1200
    assert line.query(
        "SELECT citizen FROM surgad_complaint GROUP BY citizen HAVING COUNT(*) > 1") == []


def test_two_watchdogs_escalate_once(make_line: Callable[..., Line]) -> None:
    """Two hosts' watchdogs racing over 300 overdue complaints escalate each once."""
    line = make_line(with_gammu=False, deadline_hours=0.0003)
    backlog(line, 300)
    line.cli("run", "--once")  # its own watchdog may already escalate some
    time.sleep(1.5)
    racers = [
        subprocess.Popen([sys.executable, "-m", "surgad", "--config", str(line.config),
                          "watchdog"], env=cli_env(), stdout=subprocess.DEVNULL)
        for _ in range(3)
    ]
    assert all(racer.wait(timeout=120) == 0 for racer in racers)
    assert line.scalar(
        "SELECT COUNT(*) FROM surgad_complaint WHERE escalated_at IS NULL") == 0
    assert line.scalar(
        "SELECT COUNT(*) FROM outbox WHERE CreatorID LIKE 'surgad/escalation/%'") == 300
    assert line.scalar(
        "SELECT COUNT(DISTINCT CreatorID) FROM outbox "
        "WHERE CreatorID LIKE 'surgad/escalation/%'") == 300
