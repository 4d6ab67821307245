"""Do-not-call lists in SQL: system-wide or per campaign, checked at import and before every dial.

Each entry keeps a keyed hash (HMAC-SHA256 with the store's own key) beside the number, so an erasure request can
drop the number and still keep the person from being called.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from switchboard.privacy import mask_number
from switchboard.store.schema import dnc, leads, store_meta

log = logging.getLogger("switchboard.store.dnc")
HASH_KEY = "dnc_hash_key"
# Statuses a DNC entry takes a lead out of; done and exhausted leads keep their history as it was.
_DIALABLE = ("new", "retry", "callback")
_BATCH = 5000


def number_hash(e164: str, key: bytes) -> str:
    return hmac.new(key, e164.encode("ascii"), hashlib.sha256).hexdigest()


def hash_key(conn: Connection) -> bytes:
    """The store's key for number hashes, made at first use (kept in store_meta, in the caller's transaction)."""
    found = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == HASH_KEY)).scalar_one_or_none()
    if found is None:
        found = secrets.token_hex(32)
        conn.execute(store_meta.insert().values(key=HASH_KEY, value=found))
    return bytes.fromhex(found)


def _scope(campaign_id: int | None) -> sa.ColumnElement[bool]:
    """System-wide entries, and the campaign's own when there is one."""
    system = dnc.c.campaign_id.is_(None)
    return system if campaign_id is None else sa.or_(system, dnc.c.campaign_id == campaign_id)


@dataclass(frozen=True, slots=True)
class DncList:
    """The numbers a campaign must never dial, loaded once for an import."""

    numbers: pl.Series = field(default_factory=lambda: pl.Series([], dtype=pl.String))
    hashes: frozenset[str] = frozenset()  # entries whose number was erased
    key: bytes = b""

    def blocked(self, candidates: pl.Series) -> set[str]:
        """The numbers among `candidates` on the list."""
        found: set[str] = set()
        if self.numbers.len():
            found.update(candidates.filter(candidates.is_in(self.numbers.implode())).to_list())
        if self.hashes:
            found.update(n for n in candidates.unique().to_list() if number_hash(n, self.key) in self.hashes)
        return found


def load_dnc(conn: Connection, campaign_id: int | None) -> DncList:
    rows = conn.execute(sa.select(dnc.c.phone_e164, dnc.c.phone_hash).where(_scope(campaign_id))).all()
    numbers = [r.phone_e164 for r in rows if r.phone_e164 is not None]
    hashes = frozenset(r.phone_hash for r in rows if r.phone_e164 is None)
    key = hash_key(conn) if hashes else b""
    return DncList(pl.Series(numbers, dtype=pl.String).unique(), hashes, key)


def is_blocked(conn: Connection, e164: str, campaign_id: int | None) -> bool:
    """Whether a number may not be dialled now: the dialer asks before every attempt (lists change after imports)."""
    digest = number_hash(e164, hash_key(conn))
    query = sa.select(dnc.c.id).where(_scope(campaign_id), dnc.c.phone_hash == digest).limit(1)
    return conn.execute(query).first() is not None


@dataclass(frozen=True, slots=True)
class DncAdded:
    added: int
    already: int
    leads_marked: int


def add_numbers(
    conn: Connection,
    numbers: Iterable[str],
    *,
    campaign_id: int | None,
    now: float,
    source: str | None = None,
    reason: str | None = None,
) -> DncAdded:
    """Numbers (E.164) onto the system's list (campaign_id None) or a campaign's; leads they block are marked 'dnc'."""
    key = hash_key(conn)
    wanted = {n: number_hash(n, key) for n in numbers}
    present: set[str] = set()
    hashes = list(wanted.values())
    exact = dnc.c.campaign_id.is_(None) if campaign_id is None else dnc.c.campaign_id == campaign_id
    for start in range(0, len(hashes), _BATCH):
        query = sa.select(dnc.c.phone_hash).where(exact, dnc.c.phone_hash.in_(hashes[start : start + _BATCH]))
        present.update(conn.execute(query).scalars())
    fresh = [n for n, h in wanted.items() if h not in present]
    if fresh:
        rows = [
            {"campaign_id": campaign_id, "phone_e164": n, "phone_hash": wanted[n], "added_at": now, "source": source}
            | {"reason": reason}
            for n in fresh
        ]
        conn.execute(dnc.insert(), rows)
    scope = "system-wide" if campaign_id is None else f"campaign {campaign_id}"
    for number in fresh[:20]:
        log.info("do-not-call %s added (%s)", mask_number(number), scope)
    marked = mark_leads(conn, fresh, campaign_id)
    return DncAdded(len(fresh), len(wanted) - len(fresh), marked)


def mark_leads(conn: Connection, numbers: Sequence[str], campaign_id: int | None) -> int:
    """Leads still to be dialled whose own number is now on a list become 'dnc' (alternates are checked at dial)."""
    marked = 0
    for start in range(0, len(numbers), _BATCH):
        where: list[sa.ColumnElement[bool]] = [
            leads.c.phone_e164.in_(numbers[start : start + _BATCH]),
            leads.c.status.in_(_DIALABLE),
        ]
        if campaign_id is not None:
            where.append(leads.c.campaign_id == campaign_id)
        marked += conn.execute(leads.update().where(*where).values(status="dnc")).rowcount
    return marked


def erase_number(conn: Connection, e164: str) -> int:
    """An erasure request: DNC entries keep only the keyed hash of the number. Returns the entries changed."""
    digest = number_hash(e164, hash_key(conn))
    return conn.execute(dnc.update().where(dnc.c.phone_hash == digest).values(phone_e164=None)).rowcount
