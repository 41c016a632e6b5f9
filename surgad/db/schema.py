"""Create and upgrade the whole database: gammu's schema and surgad's tables."""

from __future__ import annotations

import importlib.resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from surgad.db import engine as db_engine
from surgad.db import gammu
from surgad.errors import DatabaseError


def alembic_config(conn: sa.Connection) -> Config:
    """Return the alembic config that migrates surgad's tables over ``conn``."""
    config = Config()
    location = importlib.resources.files("surgad.db") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = conn
    return config


def init(engine: sa.Engine) -> list[str]:
    """Create gammu's schema if absent, then migrate surgad's tables to head."""
    done = []
    with db_engine.writing(engine) as conn:
        _check_charset(conn)
        version = gammu.installed_version(conn)
        if version is None:
            gammu.create_schema(conn)
            done.append(f"created gammu schema v{gammu.SCHEMA_VERSION}")
        elif version != gammu.SCHEMA_VERSION:
            raise DatabaseError(
                f"gammu schema is v{version}; surgad needs v{gammu.SCHEMA_VERSION}"
            )
        _check_engines(conn)
    with engine.connect() as conn:
        before = _current(conn)
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
        after = _current(conn)
    if before != after:
        done.append(f"migrated surgad tables {before or 'none'} -> {after}")
    return done


def _check_charset(conn: sa.Connection) -> None:
    """Refuse a MariaDB/MySQL database whose tables would not keep emoji.

    gammu's tables name utf8mb4 themselves; surgad's tables take the database
    default, and a complaint's text must survive as the citizen wrote it.
    """
    if conn.dialect.name != "mysql":
        return
    charset = conn.exec_driver_sql("SELECT @@character_set_database").scalar()
    if charset != "utf8mb4":
        name = conn.exec_driver_sql("SELECT DATABASE()").scalar()
        raise DatabaseError(
            f"database {name} has character set {charset}; surgad needs utf8mb4: "
            f"ALTER DATABASE {name} CHARACTER SET utf8mb4"
        )


def _check_engines(conn: sa.Connection) -> None:
    """Refuse gammu tables that cannot take part in a transaction.

    gammu's own mysql.sql creates MyISAM tables: there an outbox row could be
    sent without its parts, and a claim would lock whole tables.
    """
    if conn.dialect.name != "mysql":
        return
    found = conn.exec_driver_sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND engine <> 'InnoDB' "
        "AND table_name IN ('inbox', 'outbox', 'outbox_multipart', 'sentitems', "
        "'phones', 'gammu') ORDER BY table_name"
    )
    names = [row[0] for row in found]
    if names:
        fix = "; ".join(f"ALTER TABLE {name} ENGINE=InnoDB" for name in names)
        raise DatabaseError(f"gammu tables {', '.join(names)} are not InnoDB: {fix}")


def _current(conn: sa.Connection) -> str | None:
    context = MigrationContext.configure(
        conn, opts={"version_table": "surgad_alembic_version"}
    )
    return context.get_current_revision()


def check(engine: sa.Engine) -> None:
    """Raise DatabaseError unless both schemas are present and current."""
    db_engine.ping(engine)
    with engine.connect() as conn:
        version = gammu.installed_version(conn)
        if version != gammu.SCHEMA_VERSION:
            raise DatabaseError(
                f"gammu schema version is {version}, expected "
                f"{gammu.SCHEMA_VERSION}: run 'surgad db init'"
            )
        _check_engines(conn)
        head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
        if _current(conn) != head:
            raise DatabaseError("surgad tables are not current: run 'surgad db init'")
