"""Which leads are stored: DNC first, then consent, then duplicates within the file and against the store."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dialer.leads.batch import prepare_batch
from dialer.leads.classify import SeenNumbers, drop_known, sort_batch
from dialer.leads.headers import map_headers
from dialer.leads.model import ImportCounts


def batch(rows: list[list[str]], first_line: int = 2) -> object:
    header = map_headers(["phone", "consent", "phone 2"])
    return prepare_batch([(first_line + i, r) for i, r in enumerate(rows)], header, "RU")


def test_dnc_then_consent_then_duplicates() -> None:
    rows = [
        ["+79120000001", "да", ""],
        ["+79120000001", "да", ""],  # the same number again: a duplicate
        ["+79120000002", "да", ""],  # on the DNC list
        ["+79120000002", "", ""],  # on the DNC list, also without consent: DNC counts first
        ["+79120000003", "нет", ""],  # no consent
        ["+79120000004", "да", ""],  # already in the campaign
        ["", "да", ""],  # no phone: rejected
    ]
    result = sort_batch(
        batch(rows), seen=SeenNumbers(), known={"+79120000004"}, dnc={"+79120000002"}, require_consent=True
    )  # type: ignore[arg-type]
    assert result.counts == ImportCounts(imported=1, rejected=1, duplicates=2, dnc=2, no_consent=1)
    assert result.leads.get_column("phone_e164").to_list() == ["+79120000001"]
    assert result.counts.rows == len(rows)


def test_numbers_the_store_has_become_duplicates_after_the_files_own_checks() -> None:
    first = sort_batch(batch([["+79120000001", "", ""], ["+79120000002", "", ""]]), seen=SeenNumbers())  # type: ignore[arg-type]
    result = drop_known(first, {"+79120000002", "+79129999999"})
    assert result.counts == ImportCounts(imported=1, duplicates=1)
    assert result.leads.get_column("phone_e164").to_list() == ["+79120000001"]
    assert drop_known(first, set()) is first


def test_duplicates_across_chunks_of_one_file() -> None:
    first = sort_batch(batch([["+79120000001", "", ""]]), seen=SeenNumbers())  # type: ignore[arg-type]
    second = sort_batch(batch([["8 912 000-00-01", "", ""], ["+79120000009", "", ""]]), seen=first.seen)  # type: ignore[arg-type]
    assert second.counts == ImportCounts(imported=1, duplicates=1)


def test_without_consent_required_consent_is_only_kept() -> None:
    result = sort_batch(batch([["+79120000001", "нет", ""]]), seen=SeenNumbers())  # type: ignore[arg-type]
    assert result.counts.imported == 1
    assert result.leads.get_column("consent").to_list() == [False]


def test_an_alternate_number_on_the_dnc_list_is_dropped_the_lead_kept() -> None:
    result = sort_batch(
        batch([["+79120000001", "", "+79120000002"], ["+79120000003", "", "+79120000004"]]),  # type: ignore[arg-type]
        seen=SeenNumbers(),
        dnc={"+79120000002"},
    )
    assert result.leads.get_column("alt_phones").to_list() == [None, '["+79120000004"]']


@given(st.lists(st.lists(st.integers(1, 10**12), max_size=50), max_size=6))
def test_seen_numbers_remember_every_number_of_every_chunk(chunks: list[list[int]]) -> None:
    seen = SeenNumbers()
    everything: set[int] = set()
    for chunk in chunks:
        keys = np.array(chunk, dtype=np.int64)
        assert seen.contains(keys).tolist() == [k in everything for k in chunk]
        seen = seen.with_keys(keys)
        everything.update(chunk)
        assert seen.keys.tolist() == sorted(everything)
