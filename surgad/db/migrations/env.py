"""Run alembic migrations on the connection that ``surgad db init`` hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from surgad.db import models  # noqa: F401  (registers the tables)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    version_table="surgad_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
