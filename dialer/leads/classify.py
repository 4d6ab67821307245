"""Which prepared leads are stored: never a number on a do-not-call list, never one without a required consent,
never a number the file, the list, the campaign (or, on request, the whole system) already has.

Checks run in that order, so a number on the DNC list counts as `dnc` however often it appears.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from dialer.leads.batch import LeadBatch
from dialer.leads.model import ImportCounts


def number_keys(e164: pl.Series) -> npt.NDArray[np.int64]:
    """E.164 as integers ('+79123456789' -> 79123456789): no country code starts with 0, so the map is one-to-one."""
    return e164.str.slice(1).cast(pl.Int64).to_numpy()


@dataclass(frozen=True, slots=True)
class SeenNumbers:
    """The numbers a file has given so far (sorted integers: 8 bytes a number, for files of millions)."""

    keys: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def contains(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        if self.keys.size == 0:
            return np.zeros(keys.shape, dtype=np.bool_)
        at = np.searchsorted(self.keys, keys)
        found = self.keys[np.minimum(at, self.keys.size - 1)] == keys
        return np.asarray(found & (at < self.keys.size), dtype=np.bool_)

    def with_keys(self, keys: npt.NDArray[np.int64]) -> SeenNumbers:
        """Merged in order, in linear time: re-sorting everything for every batch would grow with the file."""
        new = np.unique(keys)
        new = new[~self.contains(new)]
        return SeenNumbers(np.insert(self.keys, np.searchsorted(self.keys, new), new))


@dataclass(frozen=True, slots=True)
class Sorted:
    """A batch sorted out: the leads to store, what became of the others, and the numbers seen so far."""

    leads: pl.DataFrame
    counts: ImportCounts
    seen: SeenNumbers


def sort_batch(
    batch: LeadBatch,
    *,
    seen: SeenNumbers,
    known: Collection[str] = frozenset(),
    dnc: Collection[str] = frozenset(),
    require_consent: bool = False,
) -> Sorted:
    """The leads of `batch` that may be stored.

    `known`: numbers the store already has where they count as duplicates (the campaign, or the system within
    the dedupe window). `dnc`: numbers on the system's or the campaign's do-not-call list.
    """
    leads = batch.leads
    phones = leads.get_column("phone_e164")
    on_dnc = phones.is_in(list(dnc)).to_numpy() if dnc else np.zeros(leads.height, dtype=np.bool_)
    eligible = ~on_dnc
    no_consent = 0
    if require_consent:
        consented = leads.get_column("consent").fill_null(False).to_numpy()
        no_consent = int((eligible & ~consented).sum())
        eligible &= consented
    rows = np.flatnonzero(eligible)
    candidates = phones.gather(rows)
    keys = number_keys(candidates)
    fresh = candidates.is_first_distinct().to_numpy() & ~seen.contains(keys)
    if known:
        fresh &= ~candidates.is_in(list(known)).to_numpy()
    kept = np.zeros(leads.height, dtype=np.bool_)
    kept[rows[fresh]] = True
    stored = leads.filter(pl.Series(kept))
    if dnc:
        stored = _without_dnc_alternates(stored, dnc)
    counts = ImportCounts(
        imported=stored.height,
        rejected=len(batch.rejections),
        duplicates=rows.size - stored.height,
        dnc=int(on_dnc.sum()),
        no_consent=no_consent,
    )
    return Sorted(stored, counts, seen.with_keys(keys))


def drop_known(result: Sorted, known: Collection[str]) -> Sorted:
    """The leads whose numbers the store already has counted as duplicates instead.

    Kept apart from sort_batch so the file's own checks can run away from the database connection.
    """
    if not known:
        return result
    fresh = ~result.leads.get_column("phone_e164").is_in(list(known))
    stored = result.leads.filter(fresh)
    dropped = result.leads.height - stored.height
    counts = replace(result.counts, imported=stored.height, duplicates=result.counts.duplicates + dropped)
    return Sorted(stored, counts, result.seen)


def _without_dnc_alternates(leads: pl.DataFrame, dnc: Collection[str]) -> pl.DataFrame:
    """Alternate numbers on a do-not-call list are dropped: the lead stays, that number is never dialled."""
    blocked = set(dnc)

    def keep(alternates: str | None) -> str | None:
        if alternates is None:
            return None
        left = [n for n in json.loads(alternates) if n not in blocked]
        return json.dumps(left) if left else None

    column = leads.get_column("alt_phones")
    if column.null_count() == leads.height:
        return leads
    return leads.with_columns(alt_phones=pl.Series([keep(a) for a in column.to_list()], dtype=pl.String))
