"""Drop the complaint index on citizen alone: (citizen, created_at) serves it.

Every complaint insert maintained both; the composite index answers every
lookup by citizen as well, so the single-column one only cost writes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the redundant index."""
    op.drop_index("ix_surgad_complaint_citizen", "surgad_complaint")


def downgrade() -> None:
    """Create it again."""
    op.create_index("ix_surgad_complaint_citizen", "surgad_complaint", ["citizen"])
