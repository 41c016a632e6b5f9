"""Index sentitems by modem and time, for each SIM's hourly budget.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add surgad's index on gammu's sentitems (gammu's own columns unchanged)."""
    op.create_index(
        "surgad_sentitems_sender_time", "sentitems", ["SenderID", "UpdatedInDB"]
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("surgad_sentitems_sender_time", "sentitems")
