"""alembic migrations of surgad's own tables."""
