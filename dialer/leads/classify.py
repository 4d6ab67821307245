"""Which prepared leads are stored: never a number on a do-not-call list, never one without a required consent,
never a number the file, the list, the campaign (or, on request, the whole system) already has.

Checks run in that order, so a number on the DNC list counts as `dnc` however often it appears.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field

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
        return SeenNumbers(np.union1d(self.keys, keys))


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
    rejected = len(batch.rejections)
    on_dnc = leads.get_column("phone_e164").is_in(list(dnc)) if dnc else pl.Series([False] * leads.height)
    leads, dnc_count = leads.filter(~on_dnc), int(on_dnc.sum())
    no_consent = 0
    if require_consent:
        consented = leads.get_column("consent").fill_null(False)
        leads, no_consent = leads.filter(consented), int((~consented).sum())
    keys = number_keys(leads.get_column("phone_e164"))
    first = leads.get_column("phone_e164").is_first_distinct().to_numpy()
    fresh = first & ~seen.contains(keys)
    if known:
        fresh &= ~leads.get_column("phone_e164").is_in(list(known)).to_numpy()
    kept = leads.filter(pl.Series(fresh))
    if dnc:
        kept = _without_dnc_alternates(kept, dnc)
    counts = ImportCounts(
        imported=kept.height,
        rejected=rejected,
        duplicates=leads.height - kept.height,
        dnc=dnc_count,
        no_consent=no_consent,
    )
    return Sorted(kept, counts, seen.with_keys(keys))


def _without_dnc_alternates(leads: pl.DataFrame, dnc: Collection[str]) -> pl.DataFrame:
    """Alternate numbers on a do-not-call list are dropped: the lead stays, that number is never dialled."""
    blocked = set(dnc)

    def keep(alternates: str | None) -> str | None:
        if alternates is None:
            return None
        left = [n for n in json.loads(alternates) if n not in blocked]
        return json.dumps(left) if left else None

    if leads.get_column("alt_phones").null_count() == leads.height:
        return leads
    cleaned = [keep(a) for a in leads.get_column("alt_phones").to_list()]
    return leads.with_columns(alt_phones=pl.Series(cleaned, dtype=pl.String))
