"""Add what two-way SMS needs: heads, blocked senders, reply log, reminders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add complaint columns and the tables of the SMS conversation."""
    with op.batch_alter_table("surgad_complaint") as batch:
        batch.add_column(sa.Column("nik", sa.String(16)))
        batch.add_column(sa.Column("reporter_name", sa.String(100)))
        batch.add_column(sa.Column("last_note", sa.Text))
        batch.add_column(sa.Column("remind_at", sa.DateTime))
        batch.add_column(sa.Column("reopened_at", sa.DateTime))
    op.create_index("ix_surgad_complaint_remind_at", "surgad_complaint", ["remind_at"])
    op.create_index(
        "ix_surgad_complaint_citizen_created", "surgad_complaint", ["citizen", "created_at"]
    )
    op.create_table(
        "surgad_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit_code", sa.String(16), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("unit_code", "number", name="uq_surgad_head_unit_number"),
    )
    op.create_index("ix_surgad_head_number", "surgad_head", ["number"])
    op.create_table(
        "surgad_unit_setting",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("deadline_hours", sa.Float),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "surgad_blocked_sender",
        sa.Column("number", sa.String(32), primary_key=True),
        sa.Column("blocked_at", sa.DateTime, nullable=False),
        sa.Column("blocked_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200)),
    )
    op.create_table(
        "surgad_autoreply",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_surgad_autoreply_number_at", "surgad_autoreply", ["number", "at"])
    op.create_table(
        "surgad_digest",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    """Drop the conversation tables and columns."""
    for table in ("surgad_digest", "surgad_autoreply", "surgad_blocked_sender",
                  "surgad_unit_setting", "surgad_head"):
        op.drop_table(table)
    op.drop_index("ix_surgad_complaint_citizen_created", "surgad_complaint")
    op.drop_index("ix_surgad_complaint_remind_at", "surgad_complaint")
    with op.batch_alter_table("surgad_complaint") as batch:
        for column in ("reopened_at", "remind_at", "last_note", "reporter_name", "nik"):
            batch.drop_column(column)
