"""Create complaints, inbox outcomes, events and the unprocessed-inbox index.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create surgad's tables and its index on gammu's inbox."""
    _complaint()
    _outcome()
    _event()
    _inbox_index()


def _complaint() -> None:
    op.create_table(
        "surgad_complaint",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("citizen", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("unit_code", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("kelurahan", sa.String(64)),
        sa.Column("incomplete", sa.Boolean, nullable=False),
        sa.Column("concat_key", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("deadline_at", sa.DateTime, nullable=False),
        sa.Column("escalate_at", sa.DateTime),
        sa.Column("escalated_at", sa.DateTime),
        sa.Column("acked_at", sa.DateTime),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("resolution_note", sa.Text),
        sa.Column("inbox_id", sa.Integer, nullable=False),
    )
    for column in ("citizen", "unit_code", "status", "escalate_at", "inbox_id"):
        op.create_index(f"ix_surgad_complaint_{column}", "surgad_complaint", [column])


def _outcome() -> None:
    op.create_table(
        "surgad_inbox_outcome",
        sa.Column("inbox_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("complaint_id", sa.Integer),
        sa.Column("reason", sa.String(200)),
        sa.Column("dedup_key", sa.String(40), unique=True),
        sa.Column("duplicate_of", sa.Integer),
        sa.Column("handled_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_surgad_inbox_outcome_complaint_id", "surgad_inbox_outcome", ["complaint_id"]
    )


def _event() -> None:
    op.create_table(
        "surgad_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_surgad_event_complaint_id", "surgad_event", ["complaint_id"])


def _inbox_index() -> None:
    """Index the unprocessed inbox rows: gammu never deletes a row."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE INDEX surgad_inbox_unprocessed ON inbox (ID) "
            "WHERE Processed = 'false'"
        )
    elif dialect == "postgresql":
        op.execute(
            'CREATE INDEX surgad_inbox_unprocessed ON inbox ("ID") '
            'WHERE NOT "Processed"'
        )
    else:
        op.execute("CREATE INDEX surgad_inbox_unprocessed ON inbox (Processed, ID)")


def downgrade() -> None:
    """Drop surgad's tables and index; gammu's tables stay."""
    op.execute("DROP INDEX surgad_inbox_unprocessed" + _on_inbox())
    op.drop_table("surgad_event")
    op.drop_table("surgad_inbox_outcome")
    op.drop_table("surgad_complaint")


def _on_inbox() -> str:
    return " ON inbox" if op.get_bind().dialect.name == "mysql" else ""
