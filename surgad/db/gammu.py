"""Describe gammu-smsd's tables (schema version 17) and create them.

The tables belong to gammu-smsd. surgad reads ``inbox``, marks ``Processed``,
writes ``outbox`` and ``outbox_multipart`` and reads ``sentitems`` and
``phones``; it adds indexes of its own but never changes gammu's columns.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
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


def tables(dialect: str) -> Tables:
    """Return gammu's tables typed as gammu-smsd created them in ``dialect``."""
    meta = sa.MetaData()
    flag: sa.types.TypeEngine[Any]
    yes: object
    no: object
    if dialect == "postgresql":
        flag, yes, no = sa.Boolean(), True, False
    else:
        flag, yes, no = sa.String(5), "true", "false"
    return Tables(
        inbox=_inbox(meta, flag),
        outbox=_outbox(meta),
        outbox_multipart=_outbox_multipart(meta),
        sentitems=_sentitems(meta),
        phones=_phones(meta),
        processed_true=yes,
        processed_false=no,
    )


def _inbox(meta: sa.MetaData, flag: sa.types.TypeEngine[Any]) -> sa.Table:
    return sa.Table(
        "inbox",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True),
        sa.Column("UpdatedInDB", sa.String),
        sa.Column("ReceivingDateTime", sa.String),
        sa.Column("Text", sa.Text),
        sa.Column("SenderNumber", sa.String),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("SMSCNumber", sa.String),
        sa.Column("Class", sa.Integer),
        sa.Column("TextDecoded", sa.Text),
        sa.Column("RecipientID", sa.Text),
        sa.Column("Processed", flag),
        sa.Column("Status", sa.Integer),
    )


def _outbox(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("Text", sa.Text),
        sa.Column("DestinationNumber", sa.String),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("Class", sa.Integer),
        sa.Column("TextDecoded", sa.Text),
        sa.Column("MultiPart", sa.String),
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


def _sentitems(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "sentitems",
        meta,
        sa.Column("ID", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("SequencePosition", sa.Integer, primary_key=True),
        sa.Column("SendingDateTime", sa.String),
        sa.Column("DestinationNumber", sa.String),
        sa.Column("Coding", sa.String),
        sa.Column("UDH", sa.Text),
        sa.Column("Text", sa.Text),
        sa.Column("TextDecoded", sa.Text),
        sa.Column("SenderID", sa.String),
        sa.Column("Status", sa.String),
        sa.Column("CreatorID", sa.Text),
    )


def _phones(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "phones",
        meta,
        sa.Column("IMEI", sa.String, primary_key=True),
        sa.Column("ID", sa.Text),
        sa.Column("UpdatedInDB", sa.String),
        sa.Column("TimeOut", sa.String),
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
    version = conn.execute(sa.text("SELECT MAX(Version) FROM gammu")).scalar()
    return int(version) if version is not None else None


def create_schema(conn: sa.Connection) -> None:
    """Create gammu's tables, one statement at a time."""
    for statement in _statements(schema_sql(conn.dialect.name)):
        conn.exec_driver_sql(statement)


def _statements(script: str) -> list[str]:
    """Split a DDL script on semicolons that end a statement (not in triggers)."""
    lines = [line for line in script.splitlines() if not line.startswith("--")]
    statements, current, depth = [], [], 0
    for line in lines:
        current.append(line)
        upper = line.strip().upper()
        depth += upper.startswith("BEGIN") - upper.startswith("END;")
        if upper.endswith(";") and depth == 0:
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    return [statement for statement in statements if statement]
