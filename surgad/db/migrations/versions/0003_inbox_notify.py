"""Wake the workers on PostgreSQL when gammu-smsd stores an SMS.

A trigger on gammu's inbox sends NOTIFY on the channel ``surgad_inbox`` after
every INSERT statement, so a waiting worker (``surgad.db.notify``) polls at
once instead of at its next safety poll. PostgreSQL delivers the notification
when gammu-smsd's insert commits. SQLite and MariaDB have no such thing; there
this revision does nothing and the workers poll.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Keep in step with surgad.db.notify.CHANNEL (a migration imports no app code:
# it must create what this revision meant, whatever the code says later).
CHANNEL = "surgad_inbox"


def upgrade() -> None:
    """Create the notifying function and its trigger on inbox (PostgreSQL)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    # One notification per statement, not per row: a worker needs to know that
    # something arrived, not what; PostgreSQL also folds equal notifications of
    # one transaction into one.
    op.execute(
        "CREATE OR REPLACE FUNCTION surgad_inbox_notify() RETURNS trigger AS $body$\n"
        "  BEGIN\n"
        f"    PERFORM pg_notify('{CHANNEL}', '');\n"
        "    RETURN NULL;\n"
        "  END;\n"
        "$body$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER surgad_inbox_notify AFTER INSERT ON inbox "
        "FOR EACH STATEMENT EXECUTE PROCEDURE surgad_inbox_notify()"
    )


def downgrade() -> None:
    """Drop the trigger and its function (PostgreSQL)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS surgad_inbox_notify ON inbox")
    op.execute("DROP FUNCTION IF EXISTS surgad_inbox_notify()")
