"""Drop the complaint index on inbox_id: no query looks a complaint up by it.

Every complaint insert maintained it. The way from an inbox row to its
complaint is the inbox outcome, keyed by the inbox row's id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the unused index."""
    op.drop_index("ix_surgad_complaint_inbox_id", "surgad_complaint")


def downgrade() -> None:
    """Create it again."""
    op.create_index("ix_surgad_complaint_inbox_id", "surgad_complaint", ["inbox_id"])
