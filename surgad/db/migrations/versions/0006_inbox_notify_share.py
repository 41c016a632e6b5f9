"""Tell the workers on PostgreSQL whose share of the inbox a new SMS is in.

Revision 0003 woke every worker for every SMS, and all but one of them then
polled for nothing. Now the trigger runs for each row and sends the sender's
hash as the payload, the same hash that shares the inbox out among workers
(``abs(hashtext(SenderNumber)::bigint)``): worker k of n wakes only when that hash is
k modulo n. PostgreSQL still folds equal notifications of one transaction into
one. SQLite and MariaDB have no notifications; there this does nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Keep in step with surgad.db.notify.CHANNEL (a migration imports no app code).
CHANNEL = "surgad_inbox"


def _function(payload: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION surgad_inbox_notify() RETURNS trigger AS $body$\n"
        "  BEGIN\n"
        f"    PERFORM pg_notify('{CHANNEL}', {payload});\n"
        "    RETURN NULL;\n"
        "  END;\n"
        "$body$ LANGUAGE plpgsql"
    )


def _trigger(each: str) -> str:
    return (
        "CREATE TRIGGER surgad_inbox_notify AFTER INSERT ON inbox "
        f"FOR EACH {each} EXECUTE PROCEDURE surgad_inbox_notify()"
    )


def upgrade() -> None:
    """Notify once per row, with the sender's share hash (PostgreSQL)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    # bigint first: abs() of the lowest int4 is out of range, and an error here
    # would fail gammu-smsd's INSERT.
    op.execute(_function('abs(hashtext(NEW."SenderNumber")::bigint)::text'))
    op.execute("DROP TRIGGER IF EXISTS surgad_inbox_notify ON inbox")
    op.execute(_trigger("ROW"))


def downgrade() -> None:
    """Go back to one payload-less notification per statement (PostgreSQL)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_function("''"))
    op.execute("DROP TRIGGER IF EXISTS surgad_inbox_notify ON inbox")
    op.execute(_trigger("STATEMENT"))
