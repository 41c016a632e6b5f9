"""The one clock rule: gammu local time in, naive UTC stored."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from surgad import clock

JAKARTA = ZoneInfo("Asia/Jakarta")


def test_gammu_local_time_becomes_utc() -> None:
    """A ReceivingDateTime of 09:00 in Jakarta is 02:00 UTC."""
    local = dt.datetime(2026, 12, 4, 9, 0, 0)
    assert clock.local_to_utc(local, JAKARTA) == dt.datetime(2026, 12, 4, 2, 0, 0)


def test_utc_shown_in_local_time() -> None:
    """Stored UTC times are shown to staff in the configured zone."""
    assert clock.utc_to_local(dt.datetime(2026, 12, 4, 20, 0), JAKARTA) == dt.datetime(
        2026, 12, 5, 3, 0
    )


def test_deadline_is_hours_after_receipt() -> None:
    """The default deadline is 24 hours after the SMS was received."""
    received = dt.datetime(2026, 12, 4, 2, 0)
    assert clock.deadline(received, 24) == dt.datetime(2026, 12, 5, 2, 0)
    assert clock.deadline(received, 0.5) == dt.datetime(2026, 12, 4, 2, 30)


def test_sqlite_text_and_datetime_values_parse() -> None:
    """SQLite gives text, the servers give datetime objects; both parse."""
    assert clock.parse_db_time("2026-12-04 09:01:02") == dt.datetime(
        2026, 12, 4, 9, 1, 2
    )
    aware = dt.datetime(2026, 12, 4, 9, 0, tzinfo=JAKARTA)
    assert clock.parse_db_time(aware) == dt.datetime(2026, 12, 4, 2, 0)


def test_offset_observed_from_inbox_rows() -> None:
    """Local receive times seven hours after UTC insert times mean UTC+7."""
    base = dt.datetime(2026, 12, 4, 2, 0)
    pairs = [
        (base + dt.timedelta(hours=7, seconds=-delay), base)
        for delay in (3, 5, 20, 1, 600)
    ]
    assert clock.observed_offset_hours(pairs) == 7.0
    assert clock.observed_offset_hours([]) is None


def test_offset_of_utc_gammu_is_zero() -> None:
    """A gammu-smsd running in UTC shows offset 0, which differs from Jakarta."""
    base = dt.datetime(2026, 12, 4, 2, 0)
    assert clock.observed_offset_hours([(base, base)] * 3) == 0.0
    assert clock.zone_offset_hours(JAKARTA) == 7.0


def test_human_duration_reads_naturally() -> None:
    """Waiting times are said in days, hours and minutes."""
    assert clock.human_duration(26 * 3600) == "1 hari 2 jam"
    assert clock.human_duration(5 * 3600 + 30 * 60) == "5 jam 30 mnt"
    assert clock.human_duration(3 * 3600) == "3 jam"
    assert clock.human_duration(90) == "1 mnt"


def test_human_duration_under_a_minute_counts_seconds() -> None:
    """A deadline of seconds is said in seconds, never as '0 mnt'."""
    assert clock.human_duration(59.9) == "59 dtk"
    assert clock.human_duration(1) == "1 dtk"
    assert clock.human_duration(0.36) == "<1 dtk"  # a 0.0001 h deadline
    assert clock.human_duration(0) == "<1 dtk"


def test_offset_from_utc_is_rounded_to_the_quarter_hour() -> None:
    """A server clock read a moment apart from UTC gives its zone's whole offset."""
    utc = dt.datetime(2024, 5, 6, 7, 0, 0)
    jakarta = utc + dt.timedelta(hours=7, seconds=3)
    new_york = utc - dt.timedelta(hours=4) + dt.timedelta(seconds=-2)
    assert clock.offset_from_utc(jakarta, utc) == dt.timedelta(hours=7)
    assert clock.offset_from_utc(new_york, utc) == dt.timedelta(hours=-4)
    assert clock.offset_from_utc(utc, utc) == dt.timedelta()
