"""Record a reassignment's units in columns of their own.

A repeated ALIH is recognised by the unit a complaint was moved out of and
the one it went to. Those were only in the event's ``detail`` text
("PUPR -> PDAM: reason"), which is written for people; existing
reassignments are copied into the new columns from it once, here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_event = sa.table(
    "surgad_event",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("detail", sa.Text),
    sa.column("from_unit", sa.String),
    sa.column("to_unit", sa.String),
)


def upgrade() -> None:
    """Add the columns and fill them for the reassignments recorded so far."""
    with op.batch_alter_table("surgad_event") as batch:
        batch.add_column(sa.Column("from_unit", sa.String(16)))
        batch.add_column(sa.Column("to_unit", sa.String(16)))
    conn = op.get_bind()
    found = conn.execute(
        sa.select(_event.c.id, _event.c.detail).where(_event.c.action == "reassigned")
    )
    for event_id, detail in list(found):
        old, moved, rest = (detail or "").partition(" -> ")
        if moved:
            conn.execute(
                sa.update(_event)
                .where(_event.c.id == event_id)
                .values(from_unit=old[:16], to_unit=rest.partition(":")[0][:16])
            )


def downgrade() -> None:
    """Drop the columns; ``detail`` still holds the same units."""
    with op.batch_alter_table("surgad_event") as batch:
        batch.drop_column("to_unit")
        batch.drop_column("from_unit")
