"""The staff CLI: clear one-line errors, and state changes recorded with who."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog

from surgad import actions, config, tickets, watchdog
from surgad.db import engine as db_engine
from surgad.db import gammu, models, outbox
from surgad.errors import ConfigError
from tests.integration import databases
from tests.integration.conftest import (
    MAYOR,
    TZ,
    Line,
    cli_env,
    run_cli,
    run_cli_at_terminal,
    write_config,
)
from tests.integration.test_crash import insert_like_gammu


def test_unknown_ticket_is_one_line_and_not_found(
    make_line: Callable[..., Line],
) -> None:
    """A ticket that does not exist: one stderr line, exit status 5."""
    line = make_line(with_gammu=False)
    for args in (["complaints", "show", "999"], ["complaints", "ack", "12"]):
        result = line.cli(*args, check=False)
        assert result.returncode == 5
        assert result.stderr.count("\n") == 1 and "no complaint" in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_option_is_one_line_usage_error(make_line: Callable[..., Line]) -> None:
    """A bad option or value: one stderr line, exit status 2, no traceback."""
    line = make_line(with_gammu=False)
    for args in (
        ["complaints", "list", "--status", "sleeping"],
        ["complaints", "list", "--unit", "NASA"],
        ["complaints", "resolve", "12"],
        ["run", "--workers", "0"],
        ["classify"],
        ["nonsense"],
    ):
        result = line.cli(*args, check=False)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("surgad: error:")


def test_long_bad_values_are_cut_in_the_error(make_line: Callable[..., Line]) -> None:
    """A long bad value is repeated only in part: 40 characters and an ellipsis."""
    line = make_line(with_gammu=False)
    long = "x" * 5000
    for args, status in (
        (["complaints", "list", "--status", long], 2),
        (["complaints", "list", f"--unit={long}"], 2),
        (["complaints", "show", long], 5),
        (["heads", "add", "PUPR", "0812" + "9" * 5000], 2),
        (["units", "set-deadline", "PUPR", long], 2),
        ([long], 2),
    ):
        result = line.cli(*args, check=False)
        assert result.returncode == status, (args, result.stderr)
        assert result.stderr.count("\n") == 1, args
        assert len(result.stderr) < 300 and "…" in result.stderr, args


def test_negative_deadline_is_a_bad_hours_value(make_line: Callable[..., Line]) -> None:
    """``set-deadline PUPR -1`` is refused as HOURS out of range, not as an option."""
    line = make_line(with_gammu=False)
    result = line.cli("units", "set-deadline", "PUPR", "-1", check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "'HOURS': must be between 0.0001 and 1440 hours, got -1.0" in result.stderr
    units = json.loads(line.cli("units", "list", "--json").stdout)
    assert {unit["code"]: unit["deadline_hours"] for unit in units}["PUPR"] == 24


def test_unit_file_and_cli_take_the_same_deadlines(
    tmp_path: Path, make_line: Callable[..., Line]
) -> None:
    """A deadline the unit file refuses, ``units set-deadline`` refuses, and back."""
    line = make_line(with_gammu=False)
    for hours in (0.00005, 0.005, 24, 1440, 1441, float("nan")):
        directory = tmp_path / f"deadline-{hours}"
        directory.mkdir()
        site = write_config(directory, "sqlite:////unused.db", deadline_hours=hours)
        try:
            config.load([site])
        except ConfigError as exc:
            assert exc.key.endswith(".deadline_hours") and "between" in exc.problem
            in_unit_file = False
        else:
            in_unit_file = True
        result = line.cli("units", "set-deadline", "PUPR", str(hours), check=False)
        assert (result.returncode == 0) == in_unit_file, (hours, result.stderr)
        if not in_unit_file:
            assert result.returncode == 2 and result.stderr.count("\n") == 1
            assert "'HOURS': must be between" in result.stderr


def test_removing_a_unit_head(make_line: Callable[..., Line]) -> None:
    """Not a head: exit 5. The last head: refused (exit 6) unless forced, with a warning."""
    line = make_line(with_gammu=False)

    def pupr_heads() -> list[str]:
        listed = json.loads(line.cli("heads", "list", "--json").stdout)
        return [head["number"] for head in listed if head["unit"] == "PUPR"]

    (first,) = pupr_heads()
    other = "+6281277770000"
    stranger = line.cli("heads", "remove", "PUPR", other, check=False)
    assert stranger.returncode == 5 and stranger.stderr.count("\n") == 1
    assert "not a head of PUPR" in stranger.stderr

    last = line.cli("heads", "remove", "PUPR", first, check=False)
    assert last.returncode == 6 and last.stderr.count("\n") == 1
    assert "add another head first" in last.stderr
    assert pupr_heads() == [first]

    line.cli("heads", "add", "PUPR", other)
    quiet = line.cli("heads", "remove", "PUPR", first)
    assert quiet.stderr == ""
    forced = line.cli("heads", "remove", "PUPR", other, "--force")
    assert forced.stderr.startswith("surgad: warning: PUPR has no head")
    assert forced.stderr.count("\n") == 1
    assert pupr_heads() == []


def test_bad_config_names_file_key_and_problem(
    tmp_path: Path, make_line: Callable[..., Line]
) -> None:
    """A wrong value stops start-up naming the file, the key and the problem."""
    line = make_line(with_gammu=False)
    text = line.config.read_text().replace("workers = 2", "workers = -3")
    line.config.write_text(text)
    result = line.cli("run", "--once", check=False)
    assert result.returncode == 3
    assert str(line.config) in result.stderr
    assert "service.workers" in result.stderr and "between" in result.stderr
    assert result.stderr.count("\n") == 1


# libmariadb, under mysqlclient, says only "Can't connect to server on
# '127.0.0.1' (115)": the errno of its non-blocking connect, not ECONNREFUSED.
# So the MySQL drivers' errors get a hint like the one libpq gives of its own.
HINT = "is the server running and accepting connections there?"


@pytest.mark.parametrize(
    ("scheme", "said"),
    [
        ("postgresql+psycopg2", ["refused", "Is the server running on that host"]),
        ("mysql+mysqldb", ["(2002, \"Can't connect to server", HINT]),
        ("mysql+pymysql", ["refused", HINT]),
    ],
)
def test_server_that_refuses_connections_is_one_line(
    tmp_path: Path, scheme: str, said: list[str]
) -> None:
    """A database server that does not answer: one stderr line with a hint, exit 4."""
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_config(tmp_path, f"{scheme}://surgad@127.0.0.1:{port}/smsd")
    for args in (["db", "check"], ["complaints", "list"]):
        result = run_cli(path, *args, check=False)
        assert result.returncode == 4, (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert all(words in result.stderr for words in said), result.stderr


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("mysql+mysqldb://root@127.0.0.1/smsd?charset=utf8mb4&foo=bar",
         "the mysqldb driver refuses the URL's options: 'foo'"),
        ("mysql+pymysql://root@127.0.0.1/smsd?foo=bar",
         "the pymysql driver refuses the URL's options:"),
        ("mysql+mysqldb://root@127.0.0.1/smsd?connect_timeout=abc",
         "cannot use database URL: invalid literal for int()"),
    ],
)
def test_url_options_the_driver_refuses_are_one_line(
    tmp_path: Path, query: str, said: str
) -> None:
    """An option in the URL's query that the driver does not take: one line, exit 4."""
    path = write_config(tmp_path, query)
    for args in (["db", "init"], ["db", "check"]):
        result = run_cli(path, *args, check=False)
        assert result.returncode == 4, (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert said in result.stderr


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("sqlite:///{dir}/smsd.db?foo=bar", "database.url: unknown SQLite option 'foo'"),
        ("postgresql+psycopg2://postgres@127.0.0.1:99999/smsd",
         "database.url: port 99999 is out of range: use 1 to 65535"),
    ],
)
def test_url_option_or_port_no_database_takes_is_a_config_error(
    tmp_path: Path, url: str, said: str
) -> None:
    """Not SQLAlchemy's two-line warning nor a driver's refusal: one line, exit 3."""
    path = write_config(tmp_path, url.format(dir=tmp_path))
    for args in (["db", "init"], ["db", "check"]):
        result = run_cli(path, *args, check=False)
        assert result.returncode == 3, (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert said in result.stderr


def test_db_init_on_a_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    """db init on a file that is not SQLite: one line, exit 4, the file untouched."""
    other = tmp_path / "smsd.db"
    other.write_text("not a database\n")
    path = write_config(tmp_path, f"sqlite:///{other}")
    result = run_cli(path, "db", "init", check=False)
    assert result.returncode == 4 and result.stderr.count("\n") == 1, result.stderr
    assert "file is not a database" in result.stderr
    assert other.read_text() == "not a database\n"


def test_database_never_initialised_is_one_line(
    tmp_path: Path, database: databases.Database
) -> None:
    """A staff command on a database that db init never set up: one line, exit 4.

    On SQLite no empty file is left behind for gammu-smsd to open.
    """
    path = write_config(tmp_path, database.url_text)
    for args in (["db", "check"], ["complaints", "list"], ["stats"], ["heads", "list"]):
        result = run_cli(path, *args, check=False)
        assert result.returncode == 4, (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert "run 'surgad db init'" in result.stderr
    if database.backend == "sqlite":
        assert not Path(database.name).exists()


def test_wrong_state_change_is_refused(make_line: Callable[..., Line]) -> None:
    """Acknowledging twice is refused; the change is recorded with the OS user."""
    line = make_line(with_gammu=False)
    insert_like_gammu(line, 1)
    line.cli("run", "--once")
    (complaint_id,) = line.query("SELECT id FROM surgad_complaint")[0]
    ticket = tickets.encode(complaint_id)
    line.cli("complaints", "ack", ticket)
    again = line.cli("complaints", "ack", ticket, check=False)
    assert again.returncode == 6 and "acked" in again.stderr

    shown = json.loads(line.cli("complaints", "history", ticket, "--json").stdout)
    actions = [(event["what"], event["who"]) for event in shown["timeline"]]
    assert ("acknowledged", getpass.getuser()) in actions
    listed = json.loads(
        line.cli("complaints", "list", "--status", "acked", "--json").stdout
    )
    assert [item["ticket"] for item in listed] == [ticket]


def test_run_once_exits_as_soon_as_the_inbox_is_settled(
    make_line: Callable[..., Line],
) -> None:
    """`run --once` settles what is there and exits, without an idle wait.

    The test config's safety poll is 30 s (hold_window 600 s): a run that sat
    out an idle wait after settling its rows would hit the timeout below.
    """
    line = make_line(with_gammu=False)
    for count in (1, 2, 3):  # an idle wait followed some runs, not all
        insert_like_gammu(line, 1)
        line.cli("run", "--once", timeout=20)
        assert line.query("SELECT COUNT(*) FROM surgad_inbox_outcome")[0][0] == count


def _one_complaint(line: Line) -> str:
    """Let the daemon open one complaint; return its ticket."""
    insert_like_gammu(line, 1)
    line.cli("run", "--once")
    (complaint_id,) = line.query("SELECT id FROM surgad_complaint")[0]
    return tickets.encode(complaint_id)


def test_note_too_long_for_the_citizens_sms_is_refused(
    make_line: Callable[..., Line],
) -> None:
    """A note over 800 characters: one line with its length and the limit, no SMS."""
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    queued = len(line.queued())
    for command in ("note", "resolve"):
        result = line.cli("complaints", command, ticket, "--note", "x" * 20_000, check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "20,000 characters" in result.stderr and "at most 800" in result.stderr
    assert len(line.queued()) == queued

    line.cli("complaints", "note", ticket, "--note", "sedang dikerjakan " * 44)
    assert len(line.queued()) == queued + 1


def test_note_making_the_citizens_sms_too_many_parts_is_refused(
    make_line: Callable[..., Line],
) -> None:
    """800 emoji are 800 characters but 25 SMS parts: refused, saying how long a note may be.

    The limit is the parts an 800-character plain note makes, so those still go.
    """
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    queued = len(line.queued())
    for command in ("note", "resolve"):
        result = line.cli("complaints", command, ticket, "--note", "🙏" * 800, check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert re.search(
            r"the note makes the citizen's SMS 2[56] parts; it may take 6: "
            r"about 3\d\d characters with emoji", result.stderr
        ), result.stderr
    assert len(line.queued()) == queued
    assert line.query("SELECT action FROM surgad_event WHERE action <> 'created'") == []

    line.cli("complaints", "note", ticket, "--note", "sedang dikerjakan " * 44)
    line.cli("complaints", "resolve", ticket, "--note", "🙏" * 150)
    assert len(line.queued()) == queued + 2


def test_block_reason_too_long_for_its_record_is_refused(
    make_line: Callable[..., Line],
) -> None:
    """A block reason over 200 characters: one line with its length; nothing blocked."""
    line = make_line(with_gammu=False)
    number = "081234567890"
    result = line.cli("senders", "block", number, "--reason", "x" * 5000, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "5,000 characters" in result.stderr and "at most 200" in result.stderr
    assert json.loads(line.cli("senders", "list", "--json").stdout) == []

    line.cli("senders", "block", number, "--reason", "y" * 200)
    (blocked,) = json.loads(line.cli("senders", "list", "--json").stdout)
    assert blocked["reason"] == "y" * 200


def test_overlong_reasons_are_refused_before_anything_changes(
    make_line: Callable[..., Line],
) -> None:
    """reassign and reopen take a reason as long as a quoted SMS text at most."""
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    for command in (["reassign", ticket, "PDAM"], ["reopen", ticket]):
        result = line.cli("complaints", *command, "--reason", "x" * 900, check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "900 characters" in result.stderr and "at most 800" in result.stderr
    assert line.query("SELECT action FROM surgad_event WHERE action <> 'created'") == []


def test_staff_reopening_is_not_told_as_the_citizens(make_line: Callable[..., Line]) -> None:
    """A complaint reopened from the CLI reaches the unit as reopened by staff."""
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    line.cli("complaints", "resolve", ticket, "--note", "sudah diperbaiki")
    line.cli("complaints", "reopen", ticket, "--reason", "dicek ulang")
    texts = [row[0] for row in line.query("SELECT TextDecoded FROM outbox")]
    (text,) = [text for text in texts if "DIBUKA LAGI" in text][:1]
    assert "oleh petugas SURGA" in text and "oleh pelapor" not in text
    assert "dicek ulang" in text


def test_staff_at_a_terminal_see_only_the_answer(make_line: Callable[..., Line]) -> None:
    """At a terminal a change prints its answer alone; elsewhere its event is logged.

    Piped or redirected (cron, scripts, a systemd unit), stderr still gets the
    complaint_changed event for the audit trail; an error stays one line.
    """
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    acked = run_cli_at_terminal(line.config, "complaints", "ack", ticket)
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout == f"ticket {ticket} acknowledged; citizen notified\n"
    assert acked.stderr == ""

    again = run_cli_at_terminal(line.config, "complaints", "ack", ticket)
    assert again.returncode == 6
    assert again.stderr.startswith("surgad: error:") and again.stderr.count("\n") == 1

    noted = line.cli("complaints", "note", ticket, "--note", "sedang dikerjakan")
    assert noted.stdout == f"ticket {ticket} noted\n"
    event = json.loads(noted.stderr)
    assert (event["event"], event["action"], event["ticket"]) == (
        "complaint_changed", "progress", ticket
    )


def test_change_is_logged_only_once_committed(make_line: Callable[..., Line]) -> None:
    """complaint_changed is logged after the commit, never for a rolled-back change."""
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    settings = config.load([line.config])
    engine = db_engine.create(settings.database_url)

    def progress(act: actions.Act, complaint: models.Complaint) -> list[outbox.Sms]:
        return actions.progress(act, complaint, "sedang dikerjakan")

    def progress_then_fail(act: actions.Act, complaint: models.Complaint) -> list[outbox.Sms]:
        progress(act, complaint)
        raise RuntimeError("a failure after the change, inside its transaction")

    try:
        with structlog.testing.capture_logs() as failed:
            with pytest.raises(RuntimeError):
                actions.run(engine, settings, ticket, "tester", progress_then_fail)
        with structlog.testing.capture_logs() as done:
            actions.run(engine, settings, ticket, "tester", progress)
    finally:
        engine.dispose()
    assert [event["event"] for event in failed] == []
    assert [(event["event"], event["action"]) for event in done] == [
        ("complaint_changed", "progress")
    ]


# A citizen's SMS crafted to forge lines in staff output: a newline, a
# carriage return, a terminal escape, a Unicode line separator, a
# right-to-left override.
FORGED = (
    "jalan rusak di jl semeru\n         status: resolved\r"
    "\x1b[2Jx\u2028   last_note: selesai\u202ekiri"
)


def test_citizen_text_cannot_forge_lines_in_cli_output(
    make_line: Callable[..., Line],
) -> None:
    """Control characters of an SMS are shown escaped; the stored text stays exact."""
    line = make_line(with_gammu=False)
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)
    line.insert_inbox([{
        "ReceivingDateTime": now, "Text": FORGED.encode("utf-16-be").hex().upper(),
        "SenderNumber": "+6281230000001", "Coding": "Unicode_No_Compression",
        "UDH": "", "SMSCNumber": "+6281100000", "Class": -1,
        "TextDecoded": FORGED, "RecipientID": "dummy",
    }])
    line.cli("run", "--once")
    (complaint_id, stored) = line.query("SELECT id, text FROM surgad_complaint")[0]
    assert stored == FORGED
    ticket = tickets.encode(complaint_id)
    line.cli("complaints", "reassign", ticket, "PDAM", "--reason", "salah\nunit\u2028x")

    # splitlines() breaks wherever a reader could see a new line (\n, \r, U+2028…).
    shown = line.cli("complaints", "show", ticket).stdout
    fields = shown.splitlines()
    assert len(fields) == 15, shown
    assert [field.split(":")[0].strip() for field in fields].count("status") == 1
    text = next(field for field in fields if field.lstrip().startswith("text:"))
    assert text.endswith(
        r"jalan rusak di jl semeru\n         status: resolved\r"
        r"\x1b[2Jx\u2028   last_note: selesai\u202ekiri"
    )

    listed = line.cli("complaints", "list").stdout
    assert len(listed.splitlines()) == 2, listed
    assert "\x1b" not in listed and "\u202e" not in listed
    history = line.cli("complaints", "history", ticket).stdout
    reassigned = [row for row in history.splitlines() if "-> PDAM" in row]
    # A staff reason is made one line when given (line breaks become spaces).
    assert len(reassigned) == 1 and reassigned[0].endswith("salah unit x")


def test_history_shows_when_each_sms_out_was_queued(
    make_line: Callable[..., Line], backend: str
) -> None:
    """Each sms_out line of ``complaints history`` has its local queueing time."""
    line = make_line(with_gammu=False)
    if backend == "postgresql":
        # gammu's column defaults follow the server's zone, which is not UTC here.
        name = line.scalar("SELECT current_database()")
        line.query_write(f"ALTER DATABASE \"{name}\" SET TimeZone = 'America/New_York'")
    ticket = _one_complaint(line)
    shown = json.loads(line.cli("complaints", "history", ticket, "--json").stdout)
    sent = [item for item in shown["timeline"] if item["what"].startswith("sms_out")]
    assert len(sent) == 2  # the forward to the head, the ticket to the citizen
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None)
    for item in sent:
        at = dt.datetime.strptime(item["at"], "%Y-%m-%d %H:%M")
        assert abs(at - now) < dt.timedelta(minutes=5), item


def test_classify_prints_one_code_per_csv_row(
    tmp_path: Path, make_line: Callable[..., Line]
) -> None:
    """``classify --csv`` prints a unit code per row, for staff checking routing."""
    line = make_line(with_gammu=False)
    sheet = tmp_path / "texts.csv"
    sheet.write_text('id,text\n1,PJU MATI JL VETERAN\n2,"halo min, selamat pagi"\n')
    codes = line.cli("classify", "--csv", str(sheet)).stdout.split()
    assert codes == ["DISHUB", "NONE"]
    missing = tmp_path / "bad.csv"
    missing.write_text("id,isi\n1,x\n")
    result = line.cli("classify", "--csv", str(missing), check=False)
    assert result.returncode == 2 and "text" in result.stderr


def test_daily_digest_goes_to_the_mayor_once(make_line: Callable[..., Line]) -> None:
    """With digest_time set, the mayor gets one digest a day, however often it runs."""
    line = make_line(with_gammu=False)
    insert_like_gammu(line, 5)
    line.cli("run", "--once")
    text = line.config.read_text().replace("[mayor]\n", '[mayor]\ndigest_time = "00:00"\n')
    line.config.write_text(text)
    line.cli("watchdog")
    line.cli("watchdog", "--json")

    digests = line.query(
        "SELECT DestinationNumber, TextDecoded FROM outbox WHERE CreatorID = 'surgad/digest'"
    )
    assert len(digests) == 1
    assert "aduan masuk 4" in digests[0][1]


def test_history_says_where_a_new_complaint_went(make_line: Callable[..., Line]) -> None:
    """A complaint of a unit without heads shows as sent to the mayor, not forwarded."""
    line = make_line(with_gammu=False)
    line.query_write("DELETE FROM surgad_head WHERE unit_code = 'PUPR'")
    insert_like_gammu(line, 2)  # a pothole (PUPR), then rubbish (DLHKP)
    line.cli("run", "--once")

    def created(unit: str) -> str:
        (complaint_id,) = line.query(
            "SELECT id FROM surgad_complaint WHERE unit_code = :unit", unit=unit
        )[0]
        ticket = tickets.encode(complaint_id)
        shown = json.loads(line.cli("complaints", "history", ticket, "--json").stdout)
        (opened,) = [item for item in shown["timeline"] if item["what"] == "created"]
        return str(opened["detail"])

    to_mayor = created("PUPR")
    assert "sent to the mayor: unit PUPR has no heads" in to_mayor
    assert "forwarded" not in to_mayor
    assert "forwarded to the unit heads" in created("DLHKP")


def _complaint_from(line: Line, sender: str, text: str) -> str:
    """Let ``run --once`` open a complaint from an SMS; return its ticket."""
    now = dt.datetime.now(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0)
    line.insert_inbox([{
        "ReceivingDateTime": now, "Text": text.encode("utf-16-be").hex().upper(),
        "SenderNumber": sender, "Coding": "Default_No_Compression", "UDH": "",
        "SMSCNumber": "+6281100000", "Class": -1, "TextDecoded": text,
        "RecipientID": "dummy",
    }])
    line.cli("run", "--once")
    (complaint_id,) = line.query(
        "SELECT id FROM surgad_complaint WHERE citizen = :sender", sender=sender
    )[0]
    return tickets.encode(complaint_id)


def test_heads_add_forwards_what_went_to_the_mayor_for_want_of_heads_once(
    make_line: Callable[..., Line],
) -> None:
    """Open complaints sent to the mayor because the unit had no heads reach its new head.

    Once: two `heads add` at the same time and a repeated one forward each of them
    to one head, never a resolved one nor one escalated for its deadline.
    """
    line = make_line(with_gammu=False)
    pothole = "jalan berlubang di jl semeru tolong diaspal"
    overdue = _complaint_from(line, "+6281230000001", pothole)
    settings = config.load([line.config])
    engine = db_engine.create(settings.database_url)
    try:
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=25)
        assert watchdog.scan(engine, gammu.tables(engine.dialect.name), settings, later) == 1
    finally:
        engine.dispose()
    line.query_write("DELETE FROM surgad_head WHERE unit_code = 'PUPR'")
    waiting = _complaint_from(line, "+6281230000002", pothole + " kel banjaran")
    resolved = _complaint_from(line, "+6281230000003", pothole + " kel tosaren")
    line.cli("complaints", "resolve", resolved, "--note", "sudah ditambal")

    forwarded = (
        "SELECT ID, CreatorID, DestinationNumber FROM outbox "
        "WHERE CreatorID LIKE 'surgad/forward/%'"
    )
    before = line.query(forwarded)  # the first complaint's, when PUPR had its head
    heads = ["+6281277770001", "+6281277770002"]
    adding = [
        subprocess.Popen([sys.executable, "-m", "surgad", "--config", str(line.config),
                          "heads", "add", "PUPR", head], stdout=subprocess.PIPE, text=True,
                         env=cli_env())
        for head in heads
    ]
    said = [process.communicate(timeout=120)[0] for process in adding]
    assert [process.returncode for process in adding] == [0, 0]
    again = line.cli("heads", "add", "PUPR", heads[0]).stdout

    told = [text for text in said if "forwarded" in text]
    assert len(told) == 1 and "forwarded 1 open complaint " in told[0], said
    assert "forwarded" not in again
    forwards = [row[1:] for row in line.query(forwarded) if row not in before]
    assert {creator for creator, _to in forwards} == {f"surgad/forward/{waiting}"}
    assert len(forwards) == len({to for _creator, to in forwards}) and forwards[0][1] in heads
    shown = json.loads(line.cli("complaints", "history", waiting, "--json").stdout)
    assert [item["what"] for item in shown["timeline"]].count("forwarded") == 1
    for ticket in (overdue, resolved):
        shown = json.loads(line.cli("complaints", "history", ticket, "--json").stdout)
        assert "forwarded" not in [item["what"] for item in shown["timeline"]]


def test_removing_the_last_head_sends_open_complaints_to_the_mayor_once(
    make_line: Callable[..., Line],
) -> None:
    """`heads remove --force` of a unit's last head sends its waiting complaints to the mayor.

    At once and once: recorded as escalated for want of heads, so the watchdog
    sends nothing more, and logged after the commit. An acknowledged complaint
    stays with the unit; a new head gets the escalated one forwarded.
    """
    line = make_line(with_gammu=False)
    pothole = "jalan berlubang di jl semeru tolong diaspal"
    waiting = _complaint_from(line, "+6281230000001", pothole)
    acked = _complaint_from(line, "+6281230000002", pothole + " kel banjaran")
    line.cli("complaints", "ack", acked)
    (head,) = [row[0] for row in line.query(
        "SELECT number FROM surgad_head WHERE unit_code = 'PUPR'")]
    escalations = (
        "SELECT CreatorID, DestinationNumber, Priority FROM outbox "
        "WHERE CreatorID LIKE 'surgad/escalation/%'"
    )

    removed = line.cli("heads", "remove", "PUPR", head, "--force")
    assert "PUPR: sent 1 open complaint to the mayor" in removed.stdout
    sent = [tuple(row) for row in line.query(escalations)]
    assert sent == [(f"surgad/escalation/{waiting}", MAYOR, outbox.PRIORITY_ESCALATION)]
    logged = [json.loads(text) for text in removed.stderr.splitlines() if text.startswith("{")]
    warned = [event for event in logged if event["event"] == "unit_without_heads"]
    assert [(event["unit"], event["ticket"]) for event in warned] == [("PUPR", waiting)]
    assert warned[0]["level"] == "info"  # the line on stdout is what staff read
    (detail,) = line.query("SELECT detail FROM surgad_event WHERE action = 'escalated'")
    assert detail[0] == "unit PUPR has no heads"

    settings = config.load([line.config])
    engine = db_engine.create(settings.database_url)
    try:
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=25)
        tables = gammu.tables(engine.dialect.name)
        assert watchdog.scan(engine, tables, settings, later) == 0
    finally:
        engine.dispose()
    assert len(line.query(escalations)) == 1

    added = line.cli("heads", "add", "PUPR", "+6281277770001")
    assert "forwarded 1 open complaint " in added.stdout


def test_removing_the_last_head_at_a_terminal_says_how_many_went_to_the_mayor(
    make_line: Callable[..., Line],
) -> None:
    """At a terminal: one line with the count, and the no-head warning; no log lines."""
    line = make_line(with_gammu=False)
    pothole = "jalan berlubang di jl semeru tolong diaspal"
    for sender in ("+6281230000001", "+6281230000002", "+6281230000003"):
        _complaint_from(line, sender, pothole)
    (head,) = [row[0] for row in line.query(
        "SELECT number FROM surgad_head WHERE unit_code = 'PUPR'")]

    removed = run_cli_at_terminal(line.config, "heads", "remove", "PUPR", head, "--force")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == (
        f"PUPR: removed {head}\nPUPR: sent 3 open complaints to the mayor\n"
    )
    assert removed.stderr == (
        "surgad: warning: PUPR has no head now: its complaints go to the mayor "
        "until one is added\n"
    )
    assert line.scalar("SELECT COUNT(*) FROM surgad_event WHERE action = 'escalated'") == 3


def test_staff_numbers_are_made_heads_or_blocked_only_with_force(
    make_line: Callable[..., Line],
) -> None:
    """Refused (exit 6) unless --force: the mayor or a blocked number as a head,
    a head or the mayor blocked."""
    line = make_line(with_gammu=False)
    (head,) = [row[0] for row in line.query(
        "SELECT number FROM surgad_head WHERE unit_code = 'PUPR'")]
    heads = "SELECT COUNT(*) FROM surgad_head WHERE number = :number"
    blocked = "SELECT COUNT(*) FROM surgad_blocked_sender"

    for args, said in (
        (["heads", "add", "PDAM", MAYOR], "the mayor's number"),
        (["senders", "block", head], "a head of PUPR"),
        (["senders", "block", MAYOR, "--reason", "iseng"], "the mayor's number"),
    ):
        refused = line.cli(*args, check=False)
        assert refused.returncode == 6, (args, refused.stderr)
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("surgad: error:")
        assert said in refused.stderr and "--force" in refused.stderr
        assert refused.stdout == ""
    assert line.scalar(heads, number=MAYOR) == 0 and line.scalar(blocked) == 0

    line.cli("heads", "add", "PDAM", MAYOR, "--force")
    line.cli("senders", "block", head, "--force")
    assert line.scalar(heads, number=MAYOR) == 1 and line.scalar(blocked) == 1
    assert line.cli("senders", "block", "+6281234567009").returncode == 0

    refused = line.cli("heads", "add", "PUPR", "+6281234567009", check=False)
    assert refused.returncode == 6 and refused.stderr.count("\n") == 1
    assert "is blocked" in refused.stderr and "--force" in refused.stderr
    assert line.scalar(heads, number="+6281234567009") == 0
    line.cli("heads", "add", "PUPR", "+6281234567009", "--force")
    assert line.scalar(heads, number="+6281234567009") == 1
