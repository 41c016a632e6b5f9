"""Describe gammu-smsd's tables (schema version 17) and create them.

The tables belong to gammu-smsd. surgad reads ``inbox``, marks ``Processed``,
writes ``outbox`` and ``outbox_multipart`` and reads ``sentitems`` and
``phones``; it adds indexes of its own but never changes gammu's columns.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
from typing import Any

import sqlalchemy as sa

from surgad.errors import DatabaseError

SCHEMA_VERSION = 17


@dataclasses.dataclass(frozen=True)
class Tables:
    """gammu's tables as SQLAlchemy Core objects for one SQL dialect."""

    inbox: sa.Table
    outbox: sa.Table
    outbox_multipart: sa.Table
    sentitems: sa.Table
    phones: sa.Table
    processed_true: object
    processed_false: object

    def unprocessed(self) -> sa.ColumnElement[bool]:
        """Return the condition for inbox rows not yet processed.

        It is spelled exactly as the predicate of surgad's partial index on
        PostgreSQL (``NOT "Processed"``), so the planner can use that index.
        """
        processed = self.inbox.c.Processed
        if self.processed_false is False:
            return sa.not_(processed)
        return processed == self.processed_false

    def flag(self, value: bool) -> object:
        """Return a value for one of gammu's true/false columns in this dialect."""
        return self.processed_true if value else self.processed_false

    def processed(self) -> sa.ColumnElement[bool]:
        """Return the condition for inbox rows already processed."""
        processed = self.inbox.c.Processed
        if self.processed_true is True:
            return processed.is_(True)
        return processed == self.processed_true


@dataclasses.dataclass(frozen=True)
class _Types:
    """How gammu-smsd typed its flag and time columns in one dialect."""

    flag: sa.types.TypeEngine[Any]
    time: sa.types.TypeEngine[Any]
    yes: object
    no: object


def _types(dialect: str) -> _Types:
    # SQLite keeps times as text ('2024-05-06 14:08:09') and flags as 'true' /
    # 'false'; PostgreSQL has timestamps and booleans; MariaDB has timestamps
    # and enum('false', 'true').
    if dialect == "sqlite":
        return _Types(sa.String(5), sa.String(), "true", "false")
    if dialect == "postgresql":
        return _Types(sa.Boolean(), sa.DateTime(), True, False)
    return _Types(sa.String(5), sa.DateTime(), "true", "false")


def tables(dialect: str) -> Tables:
    """Return gammu's tables typed as gammu-smsd created them in ``dialect``."""
    meta = sa.MetaData()
    types = _types(dialect)
    return Tables(
        inbox=_inbox(meta, types),
        outbox=_outbox(meta, types),
        outbox_multipart=_outbox_multipart(meta),
        sentitems=_sentitems(meta, types),
        phones=_phones(meta, types),
        processed_true=types.yes,
        processed_false=types.no,
    )


def _inbox(meta: sa.MetaData, types: _Types) -> sa.Table:
    return sa.Table(
        "inbox",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True),
        sa.Column("UpdatedInDB", types.time),
        sa.Column("ReceivingDateTime", types.time),
        sa.Column("Text", sa.Text),
        sa.Column("SenderNumber", sa.String),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("SMSCNumber", sa.String),
        sa.Column("Class", sa.Integer),
        sa.Column("TextDecoded", sa.Text),
        sa.Column("RecipientID", sa.Text),
        sa.Column("Processed", types.flag),
        sa.Column("Status", sa.Integer),
    )


def _outbox(meta: sa.MetaData, types: _Types) -> sa.Table:
    return sa.Table(
        "outbox",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("InsertIntoDB", types.time),
        sa.Column("Text", sa.Text),
        sa.Column("DestinationNumber", sa.String),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("Class", sa.Integer),
        sa.Column("TextDecoded", sa.Text),
        sa.Column("MultiPart", types.flag),
        sa.Column("SenderID", sa.String),
        sa.Column("CreatorID", sa.Text),
        sa.Column("Priority", sa.Integer),
        sa.Column("Status", sa.String),
        sa.Column("Retries", sa.Integer),
    )


def _outbox_multipart(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox_multipart",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("SequencePosition", sa.Integer, primary_key=True),
        sa.Column("Text", sa.Text),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("Class", sa.Integer),
        sa.Column("TextDecoded", sa.Text),
    )


def _sentitems(meta: sa.MetaData, types: _Types) -> sa.Table:
    return sa.Table(
        "sentitems",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("SequencePosition", sa.Integer, primary_key=True),
        sa.Column("InsertIntoDB", types.time),
        sa.Column("SendingDateTime", types.time),
        sa.Column("UpdatedInDB", types.time),
        sa.Column("DestinationNumber", sa.String),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("Text", sa.Text),
        sa.Column("TextDecoded", sa.Text),
        sa.Column("SenderID", sa.String),
        sa.Column("Status", sa.String),
        sa.Column("CreatorID", sa.Text),
    )


def _phones(meta: sa.MetaData, types: _Types) -> sa.Table:
    return sa.Table(
        "phones",
        meta,
        sa.Column("IMEI", sa.String, primary_key=True),
        sa.Column("ID", sa.Text),
        sa.Column("UpdatedInDB", types.time),
        sa.Column("TimeOut", types.time),
        sa.Column("Signal", sa.Integer),
        sa.Column("Sent", sa.Integer),
        sa.Column("Received", sa.Integer),
    )


def schema_sql(dialect: str) -> str:
    """Return the DDL that creates gammu's schema v17 in ``dialect``."""
    name = {"sqlite": "sqlite.sql", "postgresql": "pgsql.sql", "mysql": "mysql.sql"}
    if dialect not in name:
        raise DatabaseError(f"gammu-smsd has no schema for {dialect}")
    files = importlib.resources.files("surgad.db") / "gammu_schema"
    return (files / name[dialect]).read_text(encoding="utf-8")


def installed_version(conn: sa.Connection) -> int | None:
    """Return gammu's schema version in the database, or None if absent."""
    if not sa.inspect(conn).has_table("gammu"):
        return None
    # Mixed case: SQLAlchemy quotes it, as PostgreSQL needs.
    version_column: sa.ColumnClause[int] = sa.column("Version", sa.Integer)
    query = sa.select(sa.func.max(version_column)).select_from(sa.table("gammu"))
    version = conn.execute(query).scalar()
    return int(version) if version is not None else None


def create_schema(conn: sa.Connection) -> None:
    """Create gammu's tables, one statement at a time."""
    for statement in statements(schema_sql(conn.dialect.name)):
        conn.exec_driver_sql(statement)


# One lexical unit of a DDL script. Quoted text is one unit, so a semicolon in
# it never ends a statement; a dollar quote ($tag$ ... $tag$, PostgreSQL
# function bodies) is found by its opening tag and skipped to the same tag.
_TOKEN = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?\*/)
    | '(?:[^']|'')*'
    | "(?:[^"]|"")*"
    | `[^`]*`
    | (?P<dollar>\$(?:[A-Za-z_]\w*)?\$)
    | (?P<word>[A-Za-z_]\w*)
    | (?P<end>;)
    | .
    """,
    re.DOTALL | re.VERBOSE,
)


def statements(script: str) -> list[str]:
    """Split a DDL script into statements, without their comments.

    A semicolon ends a statement unless it is quoted, inside a dollar-quoted
    function body, or inside the BEGIN ... END body of a SQLite trigger.
    """
    found: list[str] = []
    current: list[str] = []
    opening: list[str] = []  # the statement's first two words
    depth = 0
    position = 0
    while position < len(script):
        match = _TOKEN.match(script, position)
        assert match is not None  # the last alternative matches any character
        text, position = match.group(), match.end()
        if match.group("comment"):
            continue
        if match.group("dollar"):
            text, position = _dollar_quoted(script, match)
        elif match.group("word"):
            opening = opening if len(opening) == 2 else [*opening, text.upper()]
            depth += _block_step(text) if opening == ["CREATE", "TRIGGER"] else 0
        elif match.group("end") and depth == 0:
            found.append("".join(current).strip())
            current, opening = [], []
            continue
        current.append(text)
    found.append("".join(current).strip())
    return [statement for statement in found if statement]


def _dollar_quoted(script: str, opening: re.Match[str]) -> tuple[str, int]:
    """Return a whole dollar-quoted string and the position after it."""
    tag = opening.group()
    close = script.find(tag, opening.end())
    if close < 0:
        raise DatabaseError(f"unterminated {tag} quote in a schema script")
    end = close + len(tag)
    return script[opening.start() : end], end


def _block_step(word: str) -> int:
    """Tell how a word changes the BEGIN ... END nesting of a trigger body."""
    upper = word.upper()
    return 1 if upper in ("BEGIN", "CASE") else -1 if upper == "END" else 0
