"""`leads import` end to end: read the file in chunks, prepare and sort each chunk (pure), store it in one transaction.

Everything is read and checked before the commit: an import stopped at any point leaves the store as it was.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from dialer.leads.batch import prepare_batch
from dialer.leads.classify import SeenNumbers, sort_batch
from dialer.leads.headers import HeaderMap, map_headers
from dialer.leads.model import Field, ImportCounts, LeadDataError, Rejection
from dialer.leads.phones import check_region, is_phone
from dialer.leads.records import Record
from switchboard.errors import LeadFileError
from switchboard.leads.files import LeadFile, open_lead_file
from switchboard.store.leads import ImportTarget, LeadStore

log = logging.getLogger("switchboard.leads")
CHUNK_ROWS = 100_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    campaign: str
    list_name: str | None = None  # default: the file's name
    region: str = "RU"
    mapping: Mapping[str, Field] | None = None
    encoding: str | None = None
    dedupe_days: int | None = None
    require_consent: bool = False
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What became of every row, the refused ones with their lines, and how long it took."""

    counts: ImportCounts
    errors: tuple[Rejection, ...] = ()
    seconds: float = 0.0
    campaign: str = ""
    list_name: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "rows": c.rows,
            "imported": c.imported,
            "rejected": c.rejected,
            "duplicates": c.duplicates,
            "dnc": c.dnc,
            "no_consent": c.no_consent,
            "errors": [e.as_json() for e in self.errors],
            "seconds": round(self.seconds, 3),
        }


def import_leads(
    engine: Engine,
    path: Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
) -> ImportReport:
    """Import a CSV or XLSX lead file into a campaign's list (both made if missing), all or nothing."""
    started = time.perf_counter()
    region = _checked(lambda: check_region(options.region))
    source = open_lead_file(path, options.encoding)
    records = source.records()
    header, first_rows = _header(records, options, source)
    target = ImportTarget(
        campaign=_name(options.campaign, "--campaign", 100),
        list_name=_name(options.list_name or path.name, "--list", 200),
        file_name=path.name,
        file_sha256=_sha256(path),
        require_consent=options.require_consent,
        dedupe_days=options.dedupe_days,
        options={"region": region, "encoding": source.encoding, "delimiter": source.delimiter},
    )
    counts, errors = ImportCounts(), []
    gc_was_on = gc.isenabled()
    gc.disable()  # millions of small objects: the collector would rescan them all, for nothing to free
    try:
        with LeadStore(engine).importing(target, clock()) as writer:
            seen = SeenNumbers()
            for chunk, refused in _chunks(itertools.chain(first_rows, records), options.chunk_rows):
                batch = prepare_batch(chunk, header, region)
                numbers = batch.leads.get_column("phone_e164")
                result = sort_batch(
                    batch,
                    seen=seen,
                    known=writer.known(numbers),
                    dnc=writer.dnc.blocked(numbers),
                    require_consent=writer.require_consent,
                )
                writer.insert(result.leads)
                seen = result.seen
                counts += result.counts + ImportCounts(rejected=len(refused))
                errors.extend(refused)
                errors.extend(batch.rejections)
                if progress is not None:
                    progress(*source.position())
            writer.finish(counts, clock())
    finally:
        if gc_was_on:
            gc.enable()
    seconds = time.perf_counter() - started
    log.info(
        "%s: %d rows, %d imported into %r in %.1f s", path.name, counts.rows, counts.imported, target.campaign, seconds
    )
    errors.sort(key=lambda e: e.line)
    return ImportReport(counts, tuple(errors), seconds, target.campaign, target.list_name)


def _checked(step: Callable[[], Any]) -> Any:
    try:
        return step()
    except LeadDataError as exc:
        raise LeadFileError(str(exc)) from None


def _name(value: str, option: str, longest: int) -> str:
    name = value.strip()
    if not name or len(name) > longest:
        raise LeadFileError(f"{option} {value!r}: must be 1 to {longest} characters")
    return name


def _header(
    records: Iterator[Record | Rejection], options: ImportOptions, source: LeadFile
) -> tuple[HeaderMap, list[Record]]:
    """The header map from the first record; a file without a header gives that record back as a lead."""
    first = next(records, None)
    if first is None:
        raise LeadFileError(f"{source.path.name}: the file holds no rows")
    if isinstance(first, Rejection):
        raise LeadFileError(f"{source.path.name}: line {first.line}: the header row has {first.message}")
    line, cells = first
    region = check_region(options.region)
    try:
        header = map_headers(cells, options.mapping, is_phone=lambda c: is_phone(c, region), line=line)
    except LeadDataError as exc:
        raise LeadFileError(f"{source.path.name}: {exc}") from None
    return header, ([] if header.has_header else [first])


def _chunks(items: Iterator[Record | Rejection], size: int) -> Iterator[tuple[list[Record], list[Rejection]]]:
    """Records in lists of `size`, with the rejections (broken quoting) met on the way."""
    chunk: list[Record] = []
    refused: list[Rejection] = []
    for item in items:
        if isinstance(item, Rejection):
            refused.append(item)
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk, refused
            chunk, refused = [], []
    if chunk or refused:
        yield chunk, refused


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
