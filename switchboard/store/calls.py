"""The call records: written when a call is routed, completed at hangup; the source the live picture rebuilds from.

Synchronous SQLAlchemy Core; the async shell calls it through a thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.errors import StoreError
from switchboard.store.schema import calls, queue_callbacks

if TYPE_CHECKING:
    from switchboard.picture_moves import CallbackRequest


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: str
    uniqueid: str
    direction: str
    caller: str
    hotline: str | None
    queue: str | None
    operator: str | None
    started_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    hangup_cause: int | None = None
    recording: str | None = None
    transferred_to: str | None = None  # 'queue:NAME' or 'operator:SIP_USER' when the operator sent the call on
    wrapup_code: str | None = None  # what the caller asked about, keyed by the operator after the call


def make_engine(url: str) -> Engine:
    """An engine for the store URL; SQLite gets WAL and a busy timeout so readers never block the writer."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class CallStore:
    """Call records in SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Bring the store's schema up to date (Alembic migrations: the same path the CLI takes)."""
        from switchboard.store.migrate import upgrade

        upgrade(self.engine)

    def upsert(self, records: Iterable[CallRecord]) -> None:
        """Insert new records and update known ones, in one transaction."""
        rows = [asdict(r) for r in records]
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                known = {
                    row.id for row in conn.execute(sa.select(calls.c.id).where(calls.c.id.in_([r["id"] for r in rows])))
                }
                new = [r for r in rows if r["id"] not in known]
                if new:
                    conn.execute(calls.insert(), new)
                for r in rows:
                    if r["id"] in known:
                        conn.execute(calls.update().where(calls.c.id == r["id"]).values(**_without_id(r)))
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not write {len(rows)} call records: {exc}") from exc

    def add_callbacks(self, requests: Iterable[CallbackRequest]) -> None:
        """Callback tasks for callers who asked at the maximum wait; a request already stored is not added twice."""
        rows = [
            {"id": r.call_id, "queue": r.queue, "phone": r.phone, "kind": r.kind, "message": r.message,
             "requested_at": r.requested_at}
            for r in requests
        ]  # fmt: skip
        try:
            with self.engine.begin() as conn:
                ids = [r["id"] for r in rows]
                known = set(conn.scalars(sa.select(queue_callbacks.c.id).where(queue_callbacks.c.id.in_(ids))))
                new = [r for r in rows if r["id"] not in known]
                if new:
                    conn.execute(queue_callbacks.insert(), new)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"could not write {len(rows)} callback tasks: {exc}") from exc

    def callbacks(self, status: str | None = None) -> list[dict[str, Any]]:
        """The hotline's callback tasks, oldest first (all, or those with `status`)."""
        query = sa.select(queue_callbacks).order_by(queue_callbacks.c.requested_at)
        if status is not None:
            query = query.where(queue_callbacks.c.status == status)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def open_calls(self) -> list[CallRecord]:
        """Calls that have not ended: after a restart they are checked against Asterisk's live channels."""
        return self._select(calls.c.ended_at.is_(None))

    def all_calls(self) -> list[CallRecord]:
        return self._select(sa.true())

    def _select(self, where: Any) -> list[CallRecord]:
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(calls).where(where).order_by(calls.c.started_at))
            return [CallRecord(**row._mapping) for row in result]


def _without_id(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}
