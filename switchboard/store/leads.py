"""Lead lists in SQL: the import writer (one transaction per file, bulk inserts) and the campaign look-ups it needs.

SQLite gets the raw driver's executemany inside the transaction, PostgreSQL gets COPY; other databases go through
SQLAlchemy. A killed import leaves nothing: the campaign, the list, the import record and every lead are written
in the one transaction (on SQLite even the leads indexes a bulk load drops and builds again, see `_defer_indexes`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from dialer.leads.model import ImportCounts
from switchboard.errors import StoreError
from switchboard.store.dnc import DncList, load_dnc
from switchboard.store.schema import campaigns, lead_imports, lead_lists, leads

log = logging.getLogger("switchboard.store.leads")
_PROBE = 5000  # numbers per dedupe query: well under every database's limit on bound values
_ANALYZE_AFTER = 10_000  # rows
_IMPORT_CACHE_KIB = 32768  # SQLite's page cache (KiB) for the import's connection: the index pages it touches
# SQLite: a batch this big is a bulk load when the leads table holds no more rows than the import will add (or than
# _SMALL_TABLE): its indexes are built once at the end (a sorted build) instead of taking a million random inserts.
_BULK_ROWS = 20_000
_SMALL_TABLE = 100_000
_BIND_ROWS = 8192  # rows made Python values at a time for executemany
_ROWS_A_STATEMENT = 64  # rows in one INSERT, at most
_SQLITE_VARIABLES = 999  # values one statement may bind on any SQLite (3.32 raised it to 32766)


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """Where an import goes and what it was asked to do."""

    campaign: str
    list_name: str
    file_name: str
    file_sha256: str | None = None
    require_consent: bool = False
    dedupe_days: int | None = None
    options: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    require_consent: bool
    dedupe_days: int | None
    created: bool = False


class ImportWriter:
    """One import's transaction: the look-ups it needs and the bulk insert of its leads."""

    def __init__(self, conn: Connection, campaign: Campaign, list_id: int, import_id: int, now: float) -> None:
        self.conn = conn
        self.campaign = campaign
        self.list_id = list_id
        self.import_id = import_id
        self.now = now
        self.require_consent = campaign.require_consent
        self.dnc: DncList = load_dnc(conn, campaign.id)
        self._campaign_has_leads = (
            conn.execute(sa.select(leads.c.id).where(leads.c.campaign_id == campaign.id).limit(1)).first() is not None
        )
        self._since: float | None = None
        self.inserted = 0
        self._may_defer_indexes = conn.dialect.name == "sqlite"
        self._deferred_indexes: list[str] = []  # CREATE INDEX statements to run again before the commit

    def dedupe_since(self, days: int | None) -> None:
        """Also count as duplicates the numbers any campaign got in the last `days` days."""
        self._since = None if days is None else self.now - days * 86400.0

    def known(self, numbers: pl.Series) -> set[str]:
        """The numbers of `numbers` the store already has: in this campaign, or anywhere within the dedupe window."""
        if not self._campaign_has_leads and self._since is None:
            return set()
        phone = leads.c.phone_e164
        scope = leads.c.campaign_id == self.campaign.id
        if self._since is not None:
            scope = sa.or_(scope, leads.c.created_at >= self._since)
        if self.conn.dialect.name == "postgresql":
            # One array parameter: PostgreSQL then probes the unique index even before the table has statistics.
            wanted = phone == sa.any_(sa.bindparam("numbers", type_=postgresql.ARRAY(sa.String)))
        else:
            wanted = phone.in_(sa.bindparam("numbers", expanding=True))
        query = sa.select(phone).where(wanted, scope)
        values = numbers.unique().to_list()
        found: set[str] = set()
        for start in range(0, len(values), _PROBE):
            found.update(self.conn.execute(query, {"numbers": values[start : start + _PROBE]}).scalars())
        return found

    def insert(self, frame: pl.DataFrame, expected_rows: int = 0) -> None:
        """The leads of a prepared batch (LEAD_SCHEMA columns), in this import's transaction.

        Sort the batch by number first: the unique index is then written front to back instead of at random.
        `expected_rows`: about how many rows the whole import has (the importer's guess from the file's size).
        """
        if frame.height == 0:
            return
        self.inserted += frame.height
        fixed = {
            "campaign_id": self.campaign.id,
            "list_id": self.list_id,
            "import_id": self.import_id,
            "status": "new",
            "attempts": 0,
            "created_at": self.now,
        }
        dialect = self.conn.dialect.name
        if dialect == "sqlite":
            if self._may_defer_indexes and frame.height >= _BULK_ROWS:
                self._may_defer_indexes = False
                # Only while no look-up needs them: known() asks the unique index when there is something to find.
                if not self._campaign_has_leads and self._since is None:
                    self._deferred_indexes = _defer_indexes(self.conn, max(_SMALL_TABLE, expected_rows))
            _insert_sqlite(self.conn, _bound(frame), fixed)
            return
        frame = _bound(frame)
        if dialect == "postgresql" and self.conn.dialect.driver == "psycopg":
            _copy_postgres(self.conn, frame, fixed)
        else:
            self.conn.execute(leads.insert(), [{**fixed, **row} for row in frame.iter_rows(named=True)])

    def finish(self, counts: ImportCounts, finished_at: float, *, file_sha256: str | None = None) -> None:
        self.conn.execute(
            lead_imports.update()
            .where(lead_imports.c.id == self.import_id)
            .values(
                file_sha256=file_sha256,
                finished_at=finished_at,
                rows=counts.rows,
                imported=counts.imported,
                rejected=counts.rejected,
                duplicates=counts.duplicates,
                dnc=counts.dnc,
                no_consent=counts.no_consent,
            )
        )

    def build_indexes(self) -> None:
        """The indexes a bulk load dropped, made again in its transaction (before the commit: a number stored twice
        in a campaign would fail the unique one, and then nothing is stored)."""
        raw = self.conn.connection.driver_connection
        while self._deferred_indexes:
            assert raw is not None
            raw.execute(self._deferred_indexes.pop(0))


class LeadStore:
    """Campaigns, lists and leads in SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def importing(self, target: ImportTarget, now: float) -> Iterator[ImportWriter]:
        """One transaction for the whole import: committed when the block ends, rolled back if it raises."""
        try:
            with self.engine.connect() as conn:
                restore = _begin_import(conn)
                try:
                    campaign = ensure_campaign(conn, target.campaign, now, require_consent=target.require_consent)
                    list_id = ensure_list(conn, campaign.id, target.list_name, now)
                    import_id = _new_import(conn, campaign.id, list_id, target, now)
                    writer = ImportWriter(conn, campaign, list_id, import_id, now)
                    writer.require_consent = campaign.require_consent or target.require_consent
                    dedupe_days = target.dedupe_days if target.dedupe_days is not None else campaign.dedupe_days
                    writer.dedupe_since(dedupe_days)
                    yield writer
                    writer.build_indexes()
                    conn.commit()
                    _refresh_statistics(conn, writer.inserted)
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    restore()
        except (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as exc:  # the driver's own: bulk paths
            raise StoreError(f"the import into campaign {target.campaign!r} was not stored: {exc}") from exc

    def campaign(self, name: str) -> Campaign | None:
        with self.engine.connect() as conn:
            return find_campaign(conn, name)


def find_campaign(conn: Connection, name: str) -> Campaign | None:
    row = conn.execute(
        sa.select(campaigns.c.id, campaigns.c.require_consent, campaigns.c.dedupe_days).where(campaigns.c.name == name)
    ).first()
    return None if row is None else Campaign(row.id, name, bool(row.require_consent), row.dedupe_days)


def ensure_campaign(conn: Connection, name: str, now: float, *, require_consent: bool = False) -> Campaign:
    """The campaign of that name, made with default settings if there is none (`created` says which)."""
    found = find_campaign(conn, name)
    if found is not None:
        return found
    campaign_id = conn.execute(
        campaigns.insert().values(name=name, created_at=now, require_consent=require_consent).returning(campaigns.c.id)
    ).scalar_one()
    log.info("campaign %r created", name)
    return Campaign(int(campaign_id), name, require_consent, None, created=True)


def ensure_list(conn: Connection, campaign_id: int, name: str, now: float) -> int:
    where = (lead_lists.c.campaign_id == campaign_id) & (lead_lists.c.name == name)
    found = conn.execute(sa.select(lead_lists.c.id).where(where)).scalar_one_or_none()
    if found is not None:
        return int(found)
    inserted = lead_lists.insert().values(campaign_id=campaign_id, name=name, created_at=now)
    return int(conn.execute(inserted.returning(lead_lists.c.id)).scalar_one())


def _new_import(conn: Connection, campaign_id: int, list_id: int, target: ImportTarget, now: float) -> int:
    values = {
        "campaign_id": campaign_id,
        "list_id": list_id,
        "file_name": target.file_name[-500:],
        "file_sha256": target.file_sha256,
        "started_at": now,
        "options": target.options,
    }
    return int(conn.execute(lead_imports.insert().values(**values).returning(lead_imports.c.id)).scalar_one())


def _begin_import(conn: Connection) -> Any:
    """Start the import's transaction; on SQLite take the write lock at once and a bigger page cache.

    BEGIN IMMEDIATE: a deferred transaction that reads first could not upgrade to a writer if another import
    committed meanwhile; this one waits its turn (the busy timeout) instead.
    """
    if conn.dialect.name != "sqlite":
        conn.begin()
        return lambda: None
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    raw = conn.connection.driver_connection
    assert raw is not None
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{_IMPORT_CACHE_KIB}")
    return lambda: raw.execute(f"PRAGMA cache_size={int(before)}")


def _defer_indexes(conn: Connection, at_most: int) -> list[str]:
    """Drop the leads indexes for a bulk load into a table of at most `at_most` rows (none if it has more); their
    statements, to make them again.

    The DDL is part of the import's transaction, so a killed import leaves them as they were; readers keep their
    snapshot (WAL), indexes included.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    # The span of ids: at least the number of rows (erased ones leave gaps), read from the ends of the table at once.
    (span,) = raw.execute(
        "SELECT coalesce((SELECT max(id) FROM leads) - (SELECT min(id) FROM leads) + 1, 0)"
    ).fetchone()
    if span > at_most:
        return []  # building the indexes of a bigger table again would cost more than keeping them
    found = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in found:
        raw.execute(f'DROP INDEX "{name}"')
    log.debug("bulk load: %d leads indexes built after the insert", len(found))
    return [sql for _, sql in found]


def _refresh_statistics(conn: Connection, inserted: int) -> None:
    """After a big import PostgreSQL's planner needs fresh statistics (autovacuum comes later) to use the indexes."""
    if conn.dialect.name == "postgresql" and inserted >= _ANALYZE_AFTER:
        conn.exec_driver_sql("ANALYZE leads")
        conn.commit()


def _bound(frame: pl.DataFrame) -> pl.DataFrame:
    """The leads columns worth sending: all-empty ones are left to their defaults (fewer values to bind)."""
    frame = frame.rename({"line": "source_line"})
    return frame.select(c for c in frame.columns if frame.get_column(c).null_count() < frame.height)


def _insert_sqlite(conn: Connection, frame: pl.DataFrame, fixed: dict[str, Any]) -> None:
    """executemany on the driver's own connection, inside SQLAlchemy's transaction: about 3x SQLAlchemy's speed.

    The fixed values are ours (integers, a float, a word), so they are written into the statement itself. The rows
    become Python values a slice at a time (a whole batch of them would be tens of megabytes held at once), and go
    _ROWS_A_STATEMENT to an INSERT: the driver's work for each statement it runs is then paid once for them all.
    """
    literals = [_literal(v) for v in fixed.values()]
    row = f"({', '.join([*literals, *('?' * frame.width)])})"
    insert = f"INSERT INTO leads ({', '.join([*fixed, *frame.columns])}) VALUES "
    raw = conn.connection.driver_connection
    assert raw is not None
    rows = max(1, min(_ROWS_A_STATEMENT, _SQLITE_VARIABLES // frame.width))
    statement = insert + ", ".join([row] * rows)
    for part in frame.iter_slices(_BIND_ROWS):
        columns = [column.to_list() for column in part.iter_columns()]
        grouped = part.height - part.height % rows
        if grouped:
            values = itertools.chain.from_iterable(zip(*(c[:grouped] for c in columns), strict=True))
            raw.executemany(statement, zip(*[values] * (frame.width * rows), strict=True))
        if grouped < part.height:
            raw.executemany(insert + row, zip(*(c[grouped:] for c in columns), strict=True))


def _literal(value: object) -> str:
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value.isalnum():
        return f"'{value}'"
    raise ValueError(f"{value!r}: not a literal we write into SQL")


def _copy_postgres(conn: Connection, frame: pl.DataFrame, fixed: dict[str, Any]) -> None:
    """COPY ... FROM STDIN in CSV, the frame written by polars: the fastest way into PostgreSQL."""
    frame = frame.with_columns(pl.lit(v).alias(k) for k, v in fixed.items())
    names = ", ".join(frame.columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY leads ({names}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(frame.write_csv(include_header=False, null_value=""))
