"""Load and check surgad's TOML configuration.

A site passes one or more files with ``--config``; later files override the keys
of earlier ones, so the shipped defaults stay untouched and a site keeps its own
changes in a separate file. Every problem names the file, the key and what is
wrong, and stops start-up before anything touches the database.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import phonenumbers

from surgad import classifier, errors, phone
from surgad.db import engine as db_engine
from surgad.errors import ConfigError

ENV_VAR = "SURGAD_CONFIG"

# A unit's deadline in hours, wherever it is set: the unit file, [deadlines] or
# `surgad units set-deadline`. The tests and the demo need deadlines of seconds.
DEADLINE_HOURS_MIN = 0.0001
DEADLINE_HOURS_MAX = 24 * 60.0


def deadline_problem(hours: float) -> str | None:
    """Say what is wrong with a unit's deadline in hours; None if it is fine."""
    if DEADLINE_HOURS_MIN <= hours <= DEADLINE_HOURS_MAX:  # False for nan
        return None
    return (
        f"must be between {DEADLINE_HOURS_MIN:g} and {DEADLINE_HOURS_MAX:g} hours, "
        f"got {errors.cut(str(hours))}"
    )


@dataclasses.dataclass(frozen=True)
class Unit:
    """One city work unit that receives complaints."""

    code: str
    name: str
    short: str
    heads: tuple[str, ...]
    deadline_hours: float


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything surgad reads from its configuration files."""

    database_url: str
    timezone: str
    workers: int
    batch_size: int
    poll_interval: float
    hold_window: float
    watchdog_interval: float
    heartbeat_timeout: float
    shutdown_timeout: float
    triage_threshold: float
    mask_citizen_numbers: bool
    followup_window: float
    reopen_window: float
    reminder_hours: float
    complaints_per_hour: int
    replies_per_hour: int
    digest_time: str | None
    status_frequency: float
    sim_hourly_budget: int
    region: str
    mayor_numbers: tuple[str, ...]
    triage_unit: str
    units: Mapping[str, Unit]
    lexicon: Mapping[str, Any]
    sources: tuple[str, ...]
    # The file that sets service.timezone, or the first one, where it would go.
    timezone_source: str = ""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """Return the time zone gammu-smsd and surgad agree to use."""
        return zoneinfo.ZoneInfo(self.timezone)


def given_paths(values: Sequence[str], option: str = "--config") -> list[Path]:
    """Return the config files named on the command line; refuse an empty name.

    An empty name would otherwise read as the current directory.
    """
    if "" in values:
        raise ConfigError(option, None, "the path is empty")
    return [Path(value) for value in values]


def default_paths() -> list[Path]:
    """Return the config files to read when none is given on the command line."""
    if value := os.environ.get(ENV_VAR):
        if paths := [Path(part) for part in value.split(os.pathsep) if part]:
            return paths
        problem = f"no config file was given (got {errors.shown(value)})"
        raise ConfigError(ENV_VAR, None, problem)
    return [Path("/etc/surgad/surgad.toml")]


def load(paths: Sequence[Path]) -> Settings:
    """Read, merge and check the given config files, in order."""
    if not paths:
        raise ConfigError("--config", None, "no config file was given")
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for path in paths:
        _merge(merged, origin, _read_toml(path), str(path), "")
    return _build(merged, origin, paths)


def _read_toml(
    path: Path, unopened: Callable[[str], ConfigError] | None = None
) -> dict[str, Any]:
    """Read one TOML file.

    A file that cannot be opened is reported by ``unopened`` (by default as a
    problem of the file itself); bad content always names the file.
    """
    try:
        if path.exists() and not path.is_file():
            # A directory fails below anyway; a device such as /dev/zero
            # would be read for ever.
            raise ConfigError(str(path), None, "not a regular file")
        raw = path.read_bytes()
    except OSError as exc:
        problem = _open_problem(exc)
        if unopened is not None:
            raise unopened(problem) from None
        raise ConfigError(str(path), None, problem) from None
    try:
        # An editor may save UTF-8 with a byte-order mark; TOML has no use for it.
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, _toml_problem(exc)) from None


# How tomllib ends its messages: "Invalid value (at line 2, column 5)".
_TOML_PLACE = re.compile(
    r"(?P<what>.*) \(at (?:(?P<place>line \d+, column \d+)|end of document)\)"
)


def _toml_problem(error: tomllib.TOMLDecodeError) -> str:
    """Say where tomllib stopped reading, then why, in its own words."""
    found = _TOML_PLACE.fullmatch(str(error))
    if found is None:
        return f"not valid TOML: {error}"
    place = found["place"] or "the end of the file"
    return f"not valid TOML at {place}: {found['what']}"


def _open_problem(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    return f"cannot read: {error.strerror}"


def _merge(
    into: dict[str, Any],
    origin: dict[str, str],
    data: Mapping[str, Any],
    source: str,
    prefix: str,
) -> None:
    """Merge nested tables; remember which file set each leaf key."""
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], origin, value, source, dotted + ".")
        else:
            into[key] = value
            origin[dotted] = source
            _record_nested(origin, value, source, dotted)


def _record_nested(
    origin: dict[str, str], value: Any, source: str, dotted: str
) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            origin[f"{dotted}.{key}"] = source
            _record_nested(origin, inner, source, f"{dotted}.{key}")


class _Reader:
    """Fetch typed values from the merged tables, naming file and key on error."""

    def __init__(self, data: Mapping[str, Any], origin: Mapping[str, str]) -> None:
        self.data = data
        self.origin = origin

    def fail(self, key: str, problem: str) -> ConfigError:
        source = self.origin.get(key) or self._nearest(key)
        return ConfigError(source, key, problem)

    def _nearest(self, key: str) -> str:
        parts = key.split(".")
        while parts:
            parts.pop()
            if found := self.origin.get(".".join(parts)):
                return found
        return next(iter(self.origin.values()), "<no config file>")

    def get(self, key: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is None:
                    raise self.fail(key, "missing")
                return default
            node = node[part]
        return node

    def string(self, key: str, default: str | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {value}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low:g} and {high:g}, got {value}")
        return float(value)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}, got {value}")
        return value

    def deadline_hours(self, key: str) -> float:
        value = self.get(key, 24)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number of hours, got {value!r}")
        if problem := deadline_problem(value):
            raise self.fail(key, problem)
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def numbers(self, key: str, region: str) -> tuple[str, ...]:
        value = self.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of phone numbers")
        return tuple(self._number(key, str(item), region) for item in value)

    def _number(self, key: str, entry: str, region: str) -> str:
        try:
            return phone.normalise(entry, region)
        except phone.PhoneError as exc:
            # Heads' and the mayor's numbers, written by the operator: shown as
            # written, unlike a citizen's number, which the error text masks.
            raise self.fail(key, f"{exc.reason}: {errors.shown(entry)}") from None


_KNOWN = {
    "database": {"url"},
    "service": {
        "timezone", "region", "workers", "batch_size", "poll_interval", "hold_window",
        "watchdog_interval", "heartbeat_timeout", "shutdown_timeout",
        "triage_threshold", "mask_citizen_numbers",
    },
    "conversation": {"followup_hours", "reopen_days", "reminder_hours"},
    "limits": {"complaints_per_hour", "replies_per_hour"},
    "mayor": {"numbers", "digest_time"},
    "modems": {"status_frequency", "hourly_budget"},
    "units": {"file"},
    "deadlines": None,  # any unit code
}


def _reject_unknown(read: _Reader) -> None:
    """Refuse keys surgad does not know: a typo must not pass silently."""
    for section, value in read.data.items():
        if section not in _KNOWN:
            raise read.fail(section, f"unknown section (known: {', '.join(_KNOWN)})")
        _reject_keys(read, section, value, _KNOWN[section])


def _reject_keys(read: _Reader, name: str, table: Any, known: Iterable[str] | None) -> None:
    """Refuse a key of the table ``name`` that is not among ``known`` (None: any)."""
    if known is None or not isinstance(table, Mapping):
        return
    for key in table:
        if key not in known:
            listed = ", ".join(sorted(known))
            raise read.fail(f"{name}.{key}", f"unknown key (known: {listed})")


# The unit file's tables and their keys (None: any key, checked elsewhere).
_UNIT_KEYS = frozenset({"name", "short", "heads", "deadline_hours", "strong", "keywords", "weak"})
_WORD_LISTS = frozenset({"strong", "keywords", "weak"})
_KNOWN_IN_UNITS_FILE: dict[str, frozenset[str] | None] = {
    "triage_unit": None,
    "scoring": classifier.SCORING_KEYS,
    "units": None,  # unit codes, each with _UNIT_KEYS
    "none": None,  # kinds of non-complaint, each with _WORD_LISTS
    "language": frozenset({"keep", "ignore", "synonyms"}),
    "location": frozenset({"near", "filler", "landmarks", "office", "numbered"}),
    "gazetteer": frozenset({"aliases", "kelurahan", "needs_marker", "kecamatan", "markers"}),
}


def _reject_unknown_in_units_file(read: _Reader) -> None:
    """Refuse unknown tables and keys in the unit file, as in the main config."""
    for section, value in read.data.items():
        if section not in _KNOWN_IN_UNITS_FILE:
            known = ", ".join(_KNOWN_IN_UNITS_FILE)
            raise read.fail(section, f"unknown key or table (known: {known})")
        _reject_keys(read, section, value, _KNOWN_IN_UNITS_FILE[section])
        inner_keys = {"units": _UNIT_KEYS, "none": _WORD_LISTS}.get(section)
        if inner_keys is not None and isinstance(value, Mapping):
            for key, inner in value.items():
                _reject_keys(read, f"{section}.{key}", inner, inner_keys)


def _build(
    data: Mapping[str, Any], origin: Mapping[str, str], paths: Sequence[Path]
) -> Settings:
    read = _Reader(data, origin)
    _reject_unknown(read)
    region = read.string("service.region", "ID")
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise read.fail("service.region", f"unknown region {region!r} (e.g. ID)")
    timezone = _timezone(read)
    units_data = _units_file(read, paths)
    _reject_unknown_in_units_file(_Reader(units_data[0], units_data[1]))
    units = _deadlines(read, _units(_Reader(units_data[0], units_data[1]), region))
    triage = _Reader(units_data[0], units_data[1]).string("triage_unit")
    if triage not in units:
        raise ConfigError(units_data[2], "triage_unit", f"unknown unit {triage!r}")
    _check_lexicon(units_data[0], units_data[2])
    return Settings(
        database_url=_database_url(read),
        timezone=timezone,
        workers=read.integer("service.workers", 2, 1, 64),
        batch_size=read.integer("service.batch_size", 500, 1, 10_000),
        poll_interval=read.number("service.poll_interval", 0.1, 0.01, 60),
        hold_window=read.number("service.hold_window", 600, 0, 86_400),
        watchdog_interval=read.number("service.watchdog_interval", 30, 0.1, 3600),
        heartbeat_timeout=read.number("service.heartbeat_timeout", 60, 1, 3600),
        shutdown_timeout=read.number("service.shutdown_timeout", 30, 1, 3600),
        triage_threshold=read.number("service.triage_threshold", 0.3, 0, 1),
        mask_citizen_numbers=read.boolean("service.mask_citizen_numbers", True),
        followup_window=read.number("conversation.followup_hours", 2, 0, 24 * 30),
        reopen_window=read.number("conversation.reopen_days", 7, 0, 365),
        reminder_hours=read.number("conversation.reminder_hours", 4, 0, 24 * 30),
        complaints_per_hour=read.integer("limits.complaints_per_hour", 5, 1, 10_000),
        replies_per_hour=read.integer("limits.replies_per_hour", 10, 1, 10_000),
        digest_time=_digest_time(read),
        status_frequency=read.number("modems.status_frequency", 60, 1, 3600),
        sim_hourly_budget=read.integer("modems.hourly_budget", 300, 1, 100_000),
        region=region,
        mayor_numbers=_mayor(read, region),
        triage_unit=triage,
        units=units,
        lexicon=units_data[0],
        sources=tuple(str(path) for path in paths),
        timezone_source=origin.get("service.timezone") or next(iter(map(str, paths)), ""),
    )


def _database_url(read: _Reader) -> str:
    url = read.string("database.url")
    if problem := db_engine.url_problem(url):
        raise read.fail("database.url", problem)
    return url


def _timezone(read: _Reader) -> str:
    name = read.string("service.timezone", "Asia/Jakarta")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise read.fail("service.timezone", f"unknown time zone {name!r}") from None
    return name


def _digest_time(read: _Reader) -> str | None:
    value = read.get("mayor.digest_time", "")
    if value in ("", None):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        raise read.fail("mayor.digest_time", f"must be HH:MM or empty, got {value!r}")
    return value


def _mayor(read: _Reader, region: str) -> tuple[str, ...]:
    numbers = read.numbers("mayor.numbers", region)
    if not numbers:
        raise read.fail("mayor.numbers", "needs at least one phone number")
    return numbers


def _units_file(
    read: _Reader, paths: Sequence[Path]
) -> tuple[dict[str, Any], dict[str, str], str]:
    """Read the unit file named by ``units.file``, relative to the naming file."""
    name = read.string("units.file")
    base = Path(read.origin.get("units.file", str(paths[-1]))).parent
    path = Path(name) if Path(name).is_absolute() else base / name
    data = _read_toml(path, lambda problem: read.fail("units.file", f"{problem}: {path}"))
    origin: dict[str, str] = {}
    _merge({}, origin, data, str(path), "")
    return data, origin, str(path)


def _check_lexicon(data: Mapping[str, Any], path: str) -> None:
    """Compile the unit file's vocabulary, so that a bad one stops start-up here.

    Left to the workers, it would kill each of them as it starts, until the
    supervisor gave up. The classifier built is the one they are given later.
    """
    try:
        classifier.Classifier.from_config(data)
    except classifier.LexiconError as exc:
        raise ConfigError(path, exc.key, exc.problem) from None


def _deadlines(read: _Reader, units: dict[str, Unit]) -> dict[str, Unit]:
    """Apply ``[deadlines]`` from the main config: per-unit hours, site-specific."""
    table = read.get("deadlines", {}) or {}
    if not isinstance(table, Mapping):
        raise read.fail("deadlines", "must be a table of UNIT = hours")
    for code in table:
        if code not in units:
            raise read.fail(f"deadlines.{code}", f"unknown unit {code!r}")
        hours = read.deadline_hours(f"deadlines.{code}")
        units[code] = dataclasses.replace(units[code], deadline_hours=hours)
    return units


def _units(read: _Reader, region: str) -> dict[str, Unit]:
    table = read.get("units")
    if not isinstance(table, Mapping) or not table:
        raise read.fail("units", "needs at least one [units.CODE] table")
    units = {}
    for code in table:
        if not code.isupper() or not code.replace("_", "").isalnum():
            raise read.fail(f"units.{code}", "unit codes are upper-case letters")
        units[code] = Unit(
            code=code,
            name=read.string(f"units.{code}.name"),
            short=read.string(f"units.{code}.short", read.get(f"units.{code}.name")),
            heads=read.numbers(f"units.{code}.heads", region),
            deadline_hours=read.deadline_hours(f"units.{code}.deadline_hours"),
        )
    return units
