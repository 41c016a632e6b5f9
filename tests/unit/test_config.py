"""Configuration: layered files, and errors that name file, key and problem."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from surgad import config
from surgad.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """Copy the shipped config and unit file into a temporary directory."""
    shutil.copy(REPO / "config" / "surgad.toml", tmp_path / "surgad.toml")
    shutil.copy(REPO / "config" / "units-kediri.toml", tmp_path / "units-kediri.toml")
    return tmp_path / "surgad.toml"


def local(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "local.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads(shipped: Path) -> None:
    """The shipped files load, with the default unit set and 24-hour deadlines."""
    settings = config.load([shipped])
    assert settings.timezone == "Asia/Jakarta"
    assert len(settings.units) == 16 and settings.triage_unit == "TRIASE"
    assert {unit.deadline_hours for unit in settings.units.values()} == {24.0}
    assert all(head.startswith("+62") for u in settings.units.values() for head in u.heads)


def test_site_file_overrides_key_by_key(shipped: Path, tmp_path: Path) -> None:
    """A later file changes only the keys it names."""
    site = local(tmp_path, "[service]\nworkers = 4\n\n[deadlines]\nPDAM = 12\n")
    settings = config.load([shipped, site])
    assert settings.workers == 4 and settings.batch_size == 500
    assert settings.units["PDAM"].deadline_hours == 12


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[service]\nworkers = -3\n", "service.workers", "between"),
        ('[service]\nworkers = "two"\n', "service.workers", "whole number"),
        ('[service]\ntimezone = "Mars/Base"\n', "service.timezone", "unknown time zone"),
        ('[mayor]\nnumbers = ["walikota"]\n', "mayor.numbers", "not a phone number"),
        ('[mayor]\ndigest_time = "25:00"\n', "mayor.digest_time", "HH:MM"),
        ('[mayor]\ndigest_time = "0٧:3٠"\n', "mayor.digest_time", "HH:MM"),
        ("[deadlines]\nNASA = 3\n", "deadlines.NASA", "unknown unit"),
        ("[deadlines]\nPDAM = 0\n", "deadlines.PDAM", "between 0.0001 and 1440 hours"),
        ('[mayor]\nnumber = ["+6281200000001"]\n', "mayor.number", "unknown key"),
        ("[servce]\nworkers = 2\n", "servce", "unknown section"),
        ('[service]\nregion = "XX"\n', "service.region", "unknown region"),
        ("[service]\npoll_interval = nan\n", "service.poll_interval", "finite"),
        ('[units]\nfile = "nowhere.toml"\n', "units.file", "file not found"),
    ],
)
def test_bad_values_name_file_key_and_problem(
    shipped: Path, tmp_path: Path, text: str, key: str, problem: str
) -> None:
    """Each bad value stops loading with the file, the key and what is wrong."""
    site = local(tmp_path, text)
    error = load_error(shipped, site)
    assert error.key == key
    assert problem in error.problem
    assert error.path == str(site)


def load_error(shipped: Path, site: Path) -> ConfigError:
    """Return the error loading the shipped config and ``site`` must raise."""
    with pytest.raises(ConfigError) as caught:
        config.load([shipped, site])
    return caught.value


@pytest.mark.parametrize(
    ("entry", "reason"),
    [("walikota", "not a phone number"), ("0812", "not a possible phone number")],
)
def test_bad_mayor_number_is_shown_as_written(
    shipped: Path, tmp_path: Path, entry: str, reason: str
) -> None:
    """The operator wrote the mayor's numbers: the bad one is shown unmasked, once."""
    site = local(tmp_path, f'[mayor]\nnumbers = ["+6281200000001", "{entry}"]\n')
    assert str(load_error(shipped, site)) == f"{site}: mayor.numbers: {reason}: '{entry}'"


def test_missing_unit_file_names_the_config_file_that_points_to_it(
    shipped: Path, tmp_path: Path
) -> None:
    """A unit file that is not there: the file and key naming it, and its path."""
    site = local(tmp_path, '[units]\nfile = "nowhere.toml"\n')
    assert str(load_error(shipped, site)) == (
        f"{site}: units.file: file not found: {tmp_path / 'nowhere.toml'}"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("no url at all", "not a database URL"),
        ("oracle://surgad:secret@db1/smsd", "unknown database 'oracle'"),
        (
            "mysql+mysqlconnector://surgad:secret@db1/smsd",
            "write mysql+mysqldb://… or mysql+pymysql://…",
        ),
        ("mariadb+mariadbconnector://surgad:secret@db1/smsd", "write mysql+mysqldb://"),
        ("postgresql+asyncpg://surgad:secret@db1/smsd", "write postgresql+psycopg2://"),
        ("mysql+mysqldb://surgad:secret@db1:abc/smsd", "not a database URL"),
        ("mysql+mysqldb://surgad:secret@db1/smsd?charset=latin1", "charset must be utf8mb4"),
        (
            "mysql+mysqldb://surgad:secret@db1/smsd?charset=utf8mb4&charset=latin1",
            "charset is given more than once",
        ),
        # The server would choose a database, and db init would fill it.
        ("mysql+mysqldb://surgad:secret@db1/", "names no database"),
        ("postgresql+psycopg2://surgad:secret@db1:5432", "names no database"),
        # gammu-smsd and surgad share one SQLite file: a URL must name it.
        ("sqlite://", "names no database file; gammu-smsd and surgad must share one"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///:memory:", "an in-memory database cannot be shared with gammu-smsd"),
        # surgad writes to the file: options that open it read-only are refused,
        # also where SQLAlchemy would drop them for want of uri=true.
        (
            "sqlite:////var/lib/surgad/smsd.db?mode=ro",
            "'mode=ro' opens the SQLite file read-only, but surgad writes to it",
        ),
        ("sqlite:////var/lib/surgad/smsd.db?mode=ro&uri=true", "'mode=ro' opens"),
        ("sqlite:////var/lib/surgad/smsd.db?mode=rwc&mode=ro", "'mode=ro' opens"),
        ("sqlite:////var/lib/surgad/smsd.db?immutable=1", "'immutable=1' opens"),
        ("sqlite:////var/lib/surgad/smsd.db?uri=true&immutable=yes", "read-only"),
        (
            "sqlite:////var/lib/surgad/smsd.db?mode=memory&uri=true",
            "mode=memory makes an in-memory database, which cannot be shared",
        ),
        # SQLAlchemy would only warn about an option pysqlite does not take.
        ("sqlite:////var/lib/surgad/smsd.db?foo=bar", "unknown SQLite option 'foo' (use"),
        ("sqlite:////var/lib/surgad/smsd.db?cache=shared", "takes effect only with uri=true"),
        ("sqlite:////var/lib/surgad/smsd.db?timeout=abc", "timeout takes no value 'abc'"),
        ("sqlite:////var/lib/surgad/smsd.db?uri=true&nolock=1", "nolock=1 turns off the locks"),
        # A port no server can listen on is a typo, not a server that is away.
        ("postgresql+psycopg2://surgad:secret@db1:99999/smsd", "port 99999 is out of range"),
        ("mysql+mysqldb://surgad:secret@db1:0/smsd", "port 0 is out of range: use 1 to 65535"),
    ],
)
def test_unusable_database_url_names_database_url(
    shipped: Path, tmp_path: Path, url: str, problem: str
) -> None:
    """A database URL surgad cannot use is a config error, not a driver's error."""
    site = local(tmp_path, f'[database]\nurl = "{url}"\n')
    error = load_error(shipped, site)
    assert (error.path, error.key) == (str(site), "database.url")
    assert problem in error.problem
    assert "secret" not in str(error)


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("postgres://surgad:secret@db1/smsd", "postgresql+psycopg2://…"),
        ("postgres+psycopg2://surgad:secret@db1/smsd", "postgresql+psycopg2://…"),
        ("pgsql://surgad:secret@db1/smsd", "postgresql+psycopg2://…"),
        ("sqlite3:////var/lib/surgad/smsd.db", "sqlite:////…"),
        ("maria+pymysql://surgad:secret@db1/smsd", "mysql+pymysql://…"),
        ("mysqli://surgad:secret@db1/smsd", "mysql+mysqldb://…"),
    ],
)
def test_a_misnamed_database_says_which_form_was_meant(
    shipped: Path, tmp_path: Path, url: str, meant: str
) -> None:
    """A common other name or a typo of a database surgad takes names the right form."""
    site = local(tmp_path, f'[database]\nurl = "{url}"\n')
    error = load_error(shipped, site)
    assert (error.path, error.key) == (str(site), "database.url")
    typed = url.partition(":")[0].partition("+")[0]
    assert error.problem.startswith(f"unknown database '{typed}': did you mean {meant}? (use")
    assert "secret" not in str(error)


def test_another_database_is_not_taken_for_a_typo(shipped: Path, tmp_path: Path) -> None:
    """mssql is a database of its own, not a misspelt mysql: no guess is offered."""
    site = local(tmp_path, '[database]\nurl = "mssql://surgad:secret@db1/smsd"\n')
    assert load_error(shipped, site).problem.startswith("unknown database 'mssql' (use ")


@pytest.mark.parametrize(
    "url",
    [
        "mysql+mysqldb://surgad:secret@db1/smsd?charset=utf8mb4",
        "mysql://surgad:secret@db1/smsd",  # SQLAlchemy's default driver: mysqldb
        "mariadb://surgad:secret@db1/smsd",
        "mariadb+mysqldb://surgad:secret@db1/smsd",
        "mysql+pymysql://surgad:secret@db1/smsd?charset=utf8mb4",  # older configs
    ],
)
def test_mariadb_urls_surgad_takes_load(
    shipped: Path, tmp_path: Path, url: str
) -> None:
    """mysqlclient's URL forms and PyMySQL's older one are all accepted."""
    site = local(tmp_path, f'[database]\nurl = "{url}"\n')
    assert config.load([shipped, site]).database_url == url


def test_pymysql_url_without_pymysql_says_what_to_install(
    shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older mysql+pymysql:// config on a host without PyMySQL names its extra."""
    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql now fails
    site = local(tmp_path, '[database]\nurl = "mysql+pymysql://surgad@db1/smsd"\n')
    error = load_error(shipped, site)
    assert (error.path, error.key) == (str(site), "database.url")
    assert error.problem == (
        "the pymysql driver is not installed: pip install 'surgad[pymysql]'"
    )


@pytest.mark.parametrize(
    "options",
    ["mode=rwc&uri=true", "uri=true&immutable=0&cache=shared", "timeout=20", "uri=yes"],
)
def test_sqlite_options_that_let_surgad_write_load(
    shipped: Path, tmp_path: Path, options: str
) -> None:
    """SQLite options that keep the file writable are not mistaken for read-only."""
    url = f"sqlite:////var/lib/surgad/smsd.db?{options}"
    site = local(tmp_path, f'[database]\nurl = "{url}"\n')
    assert config.load([shipped, site]).database_url == url


@pytest.mark.parametrize("path", ["smsd.db", "var/smsd.db", "~/smsd.db"])
def test_relative_sqlite_path_is_refused(shipped: Path, tmp_path: Path, path: str) -> None:
    """A relative SQLite path would depend on the working directory: refused."""
    site = local(tmp_path, f'[database]\nurl = "sqlite:///{path}"\n')
    error = load_error(shipped, site)
    assert (error.path, error.key) == (str(site), "database.url")
    assert "absolute path" in error.problem and repr(path) in error.problem


def test_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    """A broken file: its path, where tomllib stopped and why; no key."""
    broken = local(tmp_path, "[service]\nworkers = 2\n[mayor\n")
    with pytest.raises(ConfigError) as caught:
        config.load([broken])
    assert caught.value.key is None
    assert str(caught.value) == (
        f"{broken}: not valid TOML at line 3, column 7: "
        "Expected ']' at the end of a table declaration"
    )


def test_toml_cut_short_says_where(tmp_path: Path) -> None:
    """A file that ends inside a value is broken at its end."""
    broken = local(tmp_path, '[database]\nurl = "sqlite:////var/lib')
    with pytest.raises(ConfigError) as caught:
        config.load([broken])
    assert str(caught.value) == (
        f"{broken}: not valid TOML at the end of the file: Unterminated string"
    )


def test_toml_syntax_error_in_the_unit_file_names_the_unit_file(shipped: Path) -> None:
    """The unit file is named with the place of the mistake, not the config file."""
    units = shipped.parent / "units-kediri.toml"
    units.write_text('triage_unit = "TRIASE"\n\n[units.PUPR\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load([shipped])
    assert caught.value.key is None
    assert str(caught.value).startswith(f"{units}: not valid TOML at line 3, column 12: ")


@pytest.mark.parametrize(
    ("content", "problem"), [(None, "file not found"), (b"a = '\xff'\n", "not UTF-8 text")]
)
def test_unreadable_file_is_named_without_a_key(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    """A config file that is not there or not text: its path and the problem only."""
    path = tmp_path / "surgad.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        config.load([path])
    assert caught.value.key is None
    assert str(caught.value) == f"{path}: {problem}"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("[units.PUPR]", "[unit.PUPR]", "unit"),
        ("deadline_hours = ", "deadline_hour = ", "units.PUPR.deadline_hour"),
        ('triage_unit = "TRIASE"', 'triage_unit = "TRIASE"\ntriage_unti = "X"', "triage_unti"),
        ("\n[location]\n", "\n[location]\nnearby = []\n", "location.nearby"),
    ],
)
def test_typos_in_the_unit_file_are_refused(
    shipped: Path, old: str, new: str, key: str
) -> None:
    """A misspelt table or key in the unit file stops loading, naming it."""
    refused = unit_file_error(shipped, old, new)
    assert refused.key == key
    assert "unknown key" in refused.problem
    assert refused.path == str(shipped.parent / "units-kediri.toml")


def unit_file_error(shipped: Path, old: str, new: str) -> ConfigError:
    """Return the error of loading the config with ``old`` in its unit file made ``new``."""
    units = shipped.parent / "units-kediri.toml"
    text = units.read_text(encoding="utf-8")
    assert old in text
    units.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load([shipped])
    return caught.value


def test_a_device_given_as_config_file_is_refused_not_read() -> None:
    """/dev/zero never ends: it is refused as not a regular file at once."""
    with pytest.raises(ConfigError) as caught:
        config.load([Path("/dev/zero")])
    assert str(caught.value) == "/dev/zero: not a regular file"


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("strong = 3.0", 'strong = "x"', "scoring.strong", "must be a number, got 'x'"),
        ("strong = 3.0", "strong = 3.0\nbogus = 1", "scoring.bogus", "unknown key"),
        ("saturation = 2.5", "saturation = 0", "scoring.saturation", "above 0, got 0"),
        ("saturation = 2.5", "saturation = -1", "scoring.saturation", "above 0"),
        ("\nweak = 0.5", "\nweak = -0.5", "scoring.weak", "0 or more, got -0.5"),
        ("topic_floor = 2.0", "topic_floor = nan", "scoring.topic_floor", "finite"),
        ("strong = [\n", 'strong = ["+", ', "units.PUPR.strong", "empty word in '+'"),
        ("strong = [\n", 'strong = ["a b + c", ', "units.PUPR.strong", "each side"),
        ("keep = [\n", "keep = [3, ", "language.keep", "list of strings"),
    ],
)
def test_bad_vocabulary_in_the_unit_file_names_file_key_and_problem(
    shipped: Path, old: str, new: str, key: str, problem: str
) -> None:
    """What the classifier cannot compile stops loading, not every worker later."""
    refused = unit_file_error(shipped, old, new)
    assert (refused.path, refused.key) == (str(shipped.parent / "units-kediri.toml"), key)
    assert problem in refused.problem


@pytest.mark.parametrize(
    ("table", "entry", "key"),
    [
        ("language.synonyms", "zzq = 3", "language.synonyms.zzq"),
        ("gazetteer.aliases", "zzq = 3", "gazetteer.aliases.zzq"),
    ],
)
def test_word_tables_of_the_unit_file_hold_strings(
    shipped: Path, table: str, entry: str, key: str
) -> None:
    """A synonym or alias that is not text is refused by name, not a crash later."""
    refused = unit_file_error(shipped, f"\n[{table}]\n", f"\n[{table}]\n{entry}\n")
    assert (refused.path, refused.key) == (str(shipped.parent / "units-kediri.toml"), key)
    assert refused.problem == "must be a string"


def test_a_byte_order_mark_is_read_past(shipped: Path, tmp_path: Path) -> None:
    """A file an editor saved with a UTF-8 byte-order mark reads as without one."""
    site = tmp_path / "local.toml"
    site.write_bytes(b"\xef\xbb\xbf[service]\nworkers = 4\n")
    assert config.load([shipped, site]).workers == 4


def test_no_config_file_named_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty --config or a SURGAD_CONFIG of separators names no file: said so."""
    with pytest.raises(ConfigError, match="^--config: the path is empty$"):
        config.given_paths(["a.toml", ""])
    monkeypatch.setenv(config.ENV_VAR, ":")
    with pytest.raises(ConfigError, match="^SURGAD_CONFIG: no config file was given"):
        config.default_paths()
    with pytest.raises(ConfigError, match="^--config: no config file was given$"):
        config.load([])
