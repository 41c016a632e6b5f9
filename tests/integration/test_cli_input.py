"""The CLI as staff meet it: bad input and broken output end in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Line, cli_env, run_cli, write_config
from tests.integration.test_cli import _one_complaint

# Bytes that are not UTF-8 reach Python's argv as lone surrogates (PEP 383);
# subprocess turns them back into the same bytes.
NOT_UTF8 = "\udcff\udcfe bad"
DEV_CSV = REPO / "tests" / "data" / "complaints-dev.csv"


def _offline_config(tmp_path: Path) -> Path:
    """Write a config whose database is never opened by the commands tested."""
    return write_config(tmp_path, f"sqlite:///{tmp_path / 'never-created.db'}")


def _surgad(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with exactly these arguments (no --config added)."""
    return subprocess.run(
        [sys.executable, "-m", "surgad", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env() | (env or {}),
    )


def _one_error_line(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, result.stderr
    assert result.stderr.startswith("surgad: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_bad_scoring_stops_every_command_naming_the_unit_file(tmp_path: Path) -> None:
    """A [scoring] the classifier cannot use is a config error before any work."""
    config = _offline_config(tmp_path)
    units = tmp_path / "units.toml"
    text = units.read_text(encoding="utf-8")
    units.write_text(text.replace("\nstrong = 3.0\n", '\nstrong = "x"\n', 1), "utf-8")
    for args in (["db", "check"], ["classify", "jalan rusak"], ["run", "--once"]):
        stderr = _one_error_line(run_cli(config, *args, check=False), 3)
        assert f"{units}: scoring.strong: must be a number, got 'x'" in stderr, args


@pytest.mark.parametrize(
    "command",
    [
        ["note", "{ticket}", "--note", NOT_UTF8],
        ["resolve", "{ticket}", "--note", "caf\udce9"],
        ["reassign", "{ticket}", "PDAM", "--reason", "\udcff"],
        ["reopen", "{ticket}", "--reason", NOT_UTF8],
    ],
)
def test_text_options_that_are_not_utf8_are_refused(
    make_line: Callable[..., Line], command: list[str]
) -> None:
    """A note or reason that is not UTF-8: one line naming the option; no change."""
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    queued = len(line.queued())
    args = [part.format(ticket=ticket) for part in command]
    stderr = _one_error_line(line.cli("complaints", *args, check=False), 2)
    option = args[-2]
    assert f"Invalid value for '{option}'" in stderr and "not UTF-8 text: b'" in stderr
    assert line.query("SELECT action FROM surgad_event WHERE action <> 'created'") == []
    assert len(line.queued()) == queued


def test_block_reason_and_classified_text_must_be_utf8(tmp_path: Path) -> None:
    """The other free texts of the CLI are refused the same way, before any work."""
    config = _offline_config(tmp_path)
    block = run_cli(config, "senders", "block", "0813", "--reason", NOT_UTF8, check=False)
    expected = r"'--reason': the reason is not UTF-8 text: b'\xff\xfe bad'"
    assert expected in _one_error_line(block, 2)
    classify = run_cli(config, "classify", "jalan\udce9", check=False)
    assert "not UTF-8 text" in _one_error_line(classify, 2)


def test_a_long_or_odd_sudo_user_is_recorded_cut_and_escaped(
    make_line: Callable[..., Line], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SUDO_USER is recorded as it fits the 64-character columns, escaped."""
    line = make_line(with_gammu=False)
    ticket = _one_complaint(line)
    monkeypatch.setenv("SUDO_USER", "u" * 300)
    line.cli("complaints", "ack", ticket)
    line.cli("senders", "block", "081234567890")
    monkeypatch.setenv("SUDO_USER", "evil\nname\x1b[2J")
    line.cli("units", "set-deadline", "PUPR", "12")

    (actor,) = line.query("SELECT actor FROM surgad_event WHERE action = 'acknowledged'")
    assert actor[0] == "u" * 63 + "…"
    assert line.query("SELECT blocked_by FROM surgad_blocked_sender") == [(actor[0],)]
    changed = line.query("SELECT changed_by FROM surgad_unit_setting WHERE code = 'PUPR'")
    assert changed == [("evil\\nname\\x1b[2J",)]


def test_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """A full disk under stdout: one line on stderr and exit status 1."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    config = _offline_config(tmp_path)
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "surgad", "--config", str(config),
             "classify", "--csv", str(DEV_CSV)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=cli_env(),
        )
    assert result.returncode == 1, result.stderr
    full_disk = "cannot write the output: No space left on device"
    assert result.stderr == f"surgad: error: {full_disk}\n"


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`surgad ... | head -1`: exit status 1 and nothing on stderr, no traceback."""
    config = _offline_config(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-m", "surgad", "--config", str(config),
         "classify", "--csv", str(DEV_CSV)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # gone before the first line: each write breaks the pipe
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 1
    assert stderr == b""


def test_config_paths_that_name_no_file_are_config_errors(tmp_path: Path) -> None:
    """A directory, an empty path or an empty SURGAD_CONFIG: exit 3, one line each."""
    by_option = _surgad("--config", str(tmp_path), "db", "check")
    by_variable = _surgad("db", "check", env={"SURGAD_CONFIG": str(tmp_path)})
    not_a_file = f"surgad: error: {tmp_path}: not a regular file\n"
    assert _one_error_line(by_option, 3) == not_a_file
    assert by_variable.stderr == by_option.stderr and by_variable.returncode == 3

    empty = _one_error_line(_surgad("--config", "", "db", "check"), 3)
    assert empty == "surgad: error: --config: the path is empty\n"
    none = _one_error_line(_surgad("db", "check", env={"SURGAD_CONFIG": os.pathsep}), 3)
    assert "SURGAD_CONFIG: no config file was given" in none


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("0812", "not a possible phone number: '0812'"), ("08\x1b12", r"'08\x1b12'")],
)
def test_a_bad_number_is_repeated_as_the_operator_typed_it(
    tmp_path: Path, typed: str, shown: str
) -> None:
    """The operator's own number argument is shown unmasked, control bytes escaped."""
    config = _offline_config(tmp_path)
    for args in (["heads", "add", "PUPR", typed], ["senders", "unblock", typed]):
        stderr = _one_error_line(run_cli(config, *args, check=False), 2)
        assert shown in stderr, stderr
        assert "*" not in stderr


@pytest.mark.parametrize(
    ("args", "status", "shown"),
    [
        (["complaints", "show", "\udcff"], 5, r"no complaint with ticket '\xff'"),
        (["complaints", "ack", "12\udcff"], 5, r"no complaint with ticket '12\xff'"),
        (["complaints", "list", "--unit", NOT_UTF8], 2, r"unknown unit '\xff\xfe bad'"),
        (["complaints", "list", "--status", "\udcff"], 2, r"'\xff' is not one of"),
        (["complaints", "list", "--status=\udcff"], 2, r"'\xff' is not one of"),
        (["heads", "add", "PUPR", "08\udcff"], 2, r"not a phone number: '08\xff'"),
        (["\udcff"], 2, r"No such command '\xff'."),
    ],
)
def test_arguments_that_are_not_utf8_are_echoed_as_byte_escapes(
    tmp_path: Path, args: list[str], status: int, shown: str
) -> None:
    """An error line that repeats an argument shows bytes that are not UTF-8 as \\xff."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'smsd.db'}")
    run_cli(config, "db", "init")
    stderr = _one_error_line(run_cli(config, *args, check=False), status)
    assert shown in stderr and r"\udc" not in stderr, stderr


def test_a_config_path_that_is_not_utf8_is_echoed_as_byte_escapes(tmp_path: Path) -> None:
    """A config file that is not there, named with a byte that is not UTF-8: \\xff."""
    stderr = _one_error_line(_surgad("--config", f"{tmp_path}/\udcff.toml", "db", "check"), 3)
    assert stderr == f"surgad: error: {tmp_path}/\\xff.toml: file not found\n"
