"""The store's Alembic migrations on SQLite and PostgreSQL: the schema they make is the one schema.py declares."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from switchboard.errors import LeadFileError
from switchboard.leads.importer import ImportOptions, import_leads
from switchboard.store.calls import CallRecord, CallStore, make_engine
from switchboard.store.migrate import alembic_config, current, head, upgrade
from switchboard.store.schema import calls, campaigns, leads, metadata


def test_the_migrated_schema_is_the_declared_one(engine: Engine) -> None:
    """Nothing for autogenerate to add: every table, column, type, index and constraint matches."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert current(engine) == head()


def test_upgrading_again_changes_nothing_and_downgrade_undoes_it(engine: Engine) -> None:
    upgrade(engine)
    assert current(engine) == head()
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert not sa.inspect(engine).has_table("leads")
    upgrade(engine)
    assert sa.inspect(engine).has_table("leads")


def test_a_store_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    """A database the platform made with create_all (calls only) keeps its rows and gains the new tables."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    calls.create(engine)
    CallStore(engine).upsert([CallRecord("c1", "u1", "inbound", "+79120000000", "100", "q", None, 1.0)])
    upgrade(engine)
    assert [c.id for c in CallStore(engine).all_calls()] == ["c1"]
    assert sa.inspect(engine).has_table("campaigns")
    engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=400), st.text(alphabet='7891+ ,;"\nабв\r\t\x00', max_size=300).map(str.encode))
)
def test_any_bytes_give_a_summary_or_a_clear_error_never_half_a_list(data: bytes) -> None:
    """Arbitrary bytes as a lead file: LeadFileError and an untouched store, or a report whose rows add up."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_bytes(data)
        engine = make_engine(f"sqlite:///{folder}/store.db")
        upgrade(engine)
        try:
            report = import_leads(engine, path, ImportOptions(campaign="Любая"))
        except LeadFileError:
            with engine.connect() as conn:
                assert conn.execute(sa.select(sa.func.count()).select_from(campaigns)).scalar_one() == 0
            return
        finally:
            engine.dispose()
        engine = make_engine(f"sqlite:///{folder}/store.db")
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one()
        engine.dispose()
        counts = report.counts
        assert counts.rows == counts.imported + counts.rejected + counts.duplicates + counts.dnc + counts.no_consent
        assert stored == counts.imported
        assert len(report.errors) == counts.rejected
