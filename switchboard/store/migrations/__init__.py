"""Alembic migrations of the SQL store; run them with switchboard.store.migrate.upgrade()."""
