"""Alembic's environment: the connection handed in by migrate.upgrade(), or an engine from the configured URL.

SQLite cannot ALTER most things, so migrations run in batch mode (copy-and-move) there.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from switchboard.store.schema import metadata

config = context.config


def _configure(**kwargs: Any) -> None:
    context.configure(target_metadata=metadata, render_as_batch=True, compare_type=True, **kwargs)


def run_offline() -> None:
    """`alembic upgrade --sql`: the DDL as text, for a DBA to read or run."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from switchboard.store.calls import make_engine

        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
        with engine.begin() as conn:
            _configure(connection=conn)
            context.run_migrations()
        engine.dispose()
        return
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
