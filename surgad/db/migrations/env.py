"""Run alembic migrations on the connection that ``surgad db init`` hands over."""

from __future__ import annotations

from alembic import context

from surgad.db import models

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=models.SQLModel.metadata,
    version_table="surgad_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
