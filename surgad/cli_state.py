"""What every CLI command shares: the loaded config, the engine, the actor."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa

from surgad import clock, config, errors
from surgad.db import engine as db_engine
from surgad.db import models, schema


@dataclasses.dataclass
class State:
    """The CLI's config files, loaded on first use."""

    paths: list[Path]
    log_level: str
    _settings: config.Settings | None = None

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            self._settings = config.load(self.paths)
        return self._settings

    def engine(self, check_schema: bool = True) -> sa.Engine:
        """Open the database; unless told not to, refuse one not set up by db init.

        Without the check, a database that was never initialised fails at the
        first query, on the servers with a driver's traceback.
        """
        engine = db_engine.create(self.settings.database_url)
        if check_schema:
            schema.check(engine)
        return engine

    def local(self, value: dt.datetime | None) -> str:
        """Show a stored UTC time in the configured zone."""
        if value is None:
            return ""
        return clock.utc_to_local(value, self.settings.zone).strftime("%Y-%m-%d %H:%M")


pass_state = click.make_pass_decorator(State)


TextCheck = Callable[[click.Context, click.Parameter, str | None], str | None]


def bounded_text(what: str, holder: str, limit: int, empty: bool = True) -> TextCheck:
    """Return an option callback for a free text in an SMS or a record.

    Whitespace runs become one space. A text longer than what holds it is
    refused with its length and the limit, so staff can shorten it rather
    than have it cut or fail to store; so is one that is not UTF-8.
    """

    def check(
        ctx: click.Context, param: click.Parameter, value: str | None
    ) -> str | None:
        if value is None:
            return None
        _refuse_undecodable(what, ctx, param, value)
        text = " ".join(value.split())
        if not text and not empty:
            raise click.BadParameter(f"{what} must not be empty", ctx, param)
        if len(text) > limit:
            raise click.BadParameter(
                f"{what} is {len(text):,} characters; {holder} takes at most {limit}",
                ctx,
                param,
            )
        return text

    return check


def utf8_text(what: str) -> TextCheck:
    """Return an option callback that refuses a text holding bytes not UTF-8.

    Python keeps such bytes of a command line or the environment as lone
    surrogates (PEP 383), which no database, SMS or terminal can take.
    """

    def check(
        ctx: click.Context, param: click.Parameter, value: str | None
    ) -> str | None:
        if value is not None:
            _refuse_undecodable(what, ctx, param, value)
        return value

    return check


def _refuse_undecodable(
    what: str, ctx: click.Context, param: click.Parameter, value: str
) -> None:
    """Refuse a value with bytes that are not UTF-8, showing them as escapes."""
    if _is_utf8(value):
        return
    raw = _raw(value)
    shown = repr(raw[: errors.SHOWN_WIDTH])
    if len(raw) > errors.SHOWN_WIDTH:
        shown += "…"
    raise click.BadParameter(f"{what} is not UTF-8 text: {shown}", ctx, param)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw(text: str) -> bytes:
    """Return the bytes a command-line or environment value was read from."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no undecodable byte stands for
        return text.encode("utf-8", "backslashreplace")


def actor() -> str:
    """Name the person at the keyboard, also behind sudo, as the records hold it.

    ``SUDO_USER`` is whatever the caller set: it is shown inert like any other
    value a person typed, and cut to the length of the columns that record it.
    """
    name = os.environ.get("SUDO_USER") or getpass.getuser()
    if not _is_utf8(name):
        name = _raw(name).decode("utf-8", "backslashreplace")
    name = printable(name)
    if len(name) > models.ACTOR_LENGTH:
        name = name[: models.ACTOR_LENGTH - 1] + "…"
    return name


# What a citizen's SMS could use to forge lines in staff output, drive the
# terminal or reorder what it shows: C0 and C1 controls, DEL, the Unicode line
# and paragraph separators, and the bidirectional marks and overrides. Joiners
# and variation selectors stay: emoji and scripts need them.
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(found: re.Match[str]) -> str:
    char = found.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """Show a text on one line: control characters as escapes such as ``\\n``.

    Only for what people read; the stored text, and ``--json``, stay exact.
    """
    return _UNSAFE.sub(_escaped, str(text))


def emit(
    rows: list[dict[str, object]], as_json: bool, columns: list[str], empty: str
) -> None:
    """Print rows as JSON for scripts, or as a table for people."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    else:
        table(rows, columns, empty)


def table(rows: list[dict[str, object]], columns: list[str], empty: str) -> None:
    """Print rows as a plain aligned table for people."""
    if not rows:
        click.echo(empty)
        return
    cells = [
        {col: "" if row[col] is None else printable(row[col]) for col in columns}
        for row in rows
    ]
    widths = {col: max(len(col), *(len(cell[col]) for cell in cells)) for col in columns}
    click.echo("  ".join(col.upper().ljust(widths[col]) for col in columns).rstrip())
    for cell in cells:
        click.echo("  ".join(cell[col].ljust(widths[col]) for col in columns).rstrip())
