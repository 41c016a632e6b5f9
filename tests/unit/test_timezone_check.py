"""The start-up time-zone check: what a host in another zone than surgad's means."""

from __future__ import annotations

import time
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from surgad import config, supervisor
from surgad.db import engine as db_engine
from surgad.db import schema
from surgad.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_utc_host_is_information_not_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A UTC host is normal: logged at info, naming the TZ gammu-smsd needs."""
    settings = config.load([REPO / "config" / "surgad.toml"])
    monkeypatch.setattr(time, "timezone", 0)
    monkeypatch.setattr(time, "daylight", 0)
    server = types.SimpleNamespace(dialect=types.SimpleNamespace(name="postgresql"))
    with structlog.testing.capture_logs() as logged:
        supervisor.check_timezone(server, settings)
    assert logged == [
        {
            "event": "host_timezone_differs",
            "log_level": "info",
            "host_offset": 0.0,
            "configured": "Asia/Jakarta",
            "configured_offset": 7.0,
            "gammu_smsd_needs": "TZ=Asia/Jakarta",
        }
    ]


def _gammu_inbox_at_utc(tmp_path: Path) -> sa.Engine:
    """A SQLite inbox whose rows were stored by a gammu-smsd running in UTC."""
    engine = db_engine.create(f"sqlite:///{tmp_path / 'smsd.db'}")
    schema.init(engine)
    with db_engine.writing(engine) as conn:
        for number in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO inbox (ReceivingDateTime, Text, SenderNumber, UDH, "
                    "RecipientID) VALUES (datetime('now'), '', :n, '', '')"
                ),
                {"n": f"+62812000000{number}"},
            )
    return engine


@pytest.mark.parametrize("set_in_site_file", [True, False])
def test_a_gammu_zone_mismatch_names_the_file_that_sets_the_zone(
    tmp_path: Path, set_in_site_file: bool
) -> None:
    """The refusal names where service.timezone is set, not just the last file."""
    shipped = REPO / "config" / "surgad.toml"
    site = tmp_path / "site.toml"
    zone = '[service]\ntimezone = "Asia/Makassar"\n' if set_in_site_file else ""
    site.write_text(f'{zone}[database]\nurl = "sqlite:///{tmp_path}/smsd.db"\n')
    extra = tmp_path / "extra.toml"
    extra.write_text("[limits]\nreplies_per_hour = 20\n")
    settings = config.load([shipped, site, extra])
    engine = _gammu_inbox_at_utc(tmp_path)
    try:
        with pytest.raises(ConfigError) as refused:
            supervisor.check_timezone(engine, settings)
    finally:
        engine.dispose()
    expected = site if set_in_site_file else shipped
    assert refused.value.path == str(expected)
    assert refused.value.key == "service.timezone"
