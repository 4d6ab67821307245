"""Store fixtures: every store test runs on SQLite (WAL, a temp file) and on a throwaway PostgreSQL server.

Each test gets a fresh database at the current schema: SQLite migrated anew, PostgreSQL copied from a migrated template.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from switchboard.lab.postgres import PostgresProcess, postgres_bindir
from switchboard.store.calls import make_engine
from switchboard.store.migrate import upgrade

_TEMPLATE = "switchboard_template"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresProcess]:
    if postgres_bindir() is None:
        pytest.skip("PostgreSQL is not installed here (make setup installs it)")
    server = PostgresProcess()
    server.start()
    try:
        engine = make_engine(server.create_database(_TEMPLATE))
        upgrade(engine)
        engine.dispose()  # a template must have no connections when it is copied
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store at the current schema, on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        upgrade(url)
        return url
    server: PostgresProcess = request.getfixturevalue("postgres")
    return server.create_database(f"test_{next(_numbers)}", template=_TEMPLATE)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    yield engine
    engine.dispose()
