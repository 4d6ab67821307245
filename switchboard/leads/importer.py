"""`leads import` end to end: read the file in chunks, prepare and sort each chunk (pure), store it in one transaction.

Everything is read and checked before the commit: an import stopped at any point leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from dialer.leads.batch import LeadBatch, prepare_frame
from dialer.leads.classify import SeenNumbers, Sorted, drop_known, sort_batch
from dialer.leads.headers import HeaderMap, map_headers
from dialer.leads.model import Field, ImportCounts, LeadDataError, Rejection
from dialer.leads.phones import check_region, is_phone
from switchboard.errors import LeadFileError
from switchboard.leads.files import Chunk, LeadFile, open_lead_file
from switchboard.store.leads import ImportTarget, ImportWriter, LeadStore

log = logging.getLogger("switchboard.leads")
Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    campaign: str
    list_name: str | None = None  # default: the file's name
    region: str = "RU"
    mapping: Mapping[str, Field] | None = None
    encoding: str | None = None
    dedupe_days: int | None = None
    require_consent: bool = False


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What became of every row, the refused ones with their lines, and how long it took."""

    counts: ImportCounts
    errors: tuple[Rejection, ...] = ()
    seconds: float = 0.0
    campaign: str = ""
    list_name: str = ""

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
    counted: Callable[[ImportCounts], None] | None = None,
) -> ImportReport:
    """Import a CSV or XLSX lead file into a campaign's list (both made if missing), all or nothing.

    `progress(done, total)` after each batch (bytes of a text file, rows of a spreadsheet); `counted(counts)`
    beside it with what became of the rows so far (the console's progress bar shows both).
    """
    started = time.perf_counter()
    region = _checked(lambda: check_region(options.region))
    source = open_lead_file(path, options.encoding)
    header, header_line = _header(source, options.mapping, region)
    target = ImportTarget(
        campaign=_name(options.campaign, "--campaign", 100),
        list_name=_name(options.list_name or path.name, "--list", 200),
        file_name=path.name,
        file_sha256=None,  # filled in at the end: hashed meanwhile in a thread of its own
        require_consent=options.require_consent,
        dedupe_days=options.dedupe_days,
        options={"region": region, "encoding": source.encoding, "delimiter": source.delimiter},
    )
    digest = _Digest(path)
    with LeadStore(engine).importing(target, clock()) as writer:
        counts, errors = _store(source, header, header_line, region, writer, progress, counted)
        writer.finish(counts, clock(), file_sha256=digest.result())
    seconds = time.perf_counter() - started
    log.info(
        "%s: %d rows, %d imported into %r in %.1f s", path.name, counts.rows, counts.imported, target.campaign, seconds
    )
    errors.sort(key=lambda e: e.line)
    return ImportReport(counts, tuple(errors), seconds, target.campaign, target.list_name)


def _store(
    source: LeadFile,
    header: HeaderMap,
    header_line: int | None,
    region: str,
    writer: ImportWriter,
    progress: Progress | None,
    counted: Callable[[ImportCounts], None] | None = None,
) -> tuple[ImportCounts, list[Rejection]]:
    """Every chunk of the file prepared and sorted out in a worker thread, then checked against the store and
    written here (the connection stays in this thread); what became of the rows."""
    counts, errors = ImportCounts(), []
    chunks = source.chunks(header.width, header_line=header_line)
    for result, rejections, position in in_background(_sorted_out(chunks, header, region, writer, source)):
        known = writer.known(result.leads.get_column("phone_e164"))
        if known:
            result = drop_known(result, known)
        done, total = position
        expected = (counts.rows + result.counts.rows) * total // max(done, 1)  # the rows so far, scaled to the file
        writer.insert(result.leads, expected_rows=expected)
        counts += result.counts
        errors.extend(rejections)
        if progress is not None:
            progress(*position)
        if counted is not None:
            counted(counts)
    return counts, errors


def _sorted_out(
    chunks: Iterator[Chunk], header: HeaderMap, region: str, writer: ImportWriter, source: LeadFile
) -> Iterator[tuple[Sorted, list[Rejection], tuple[int, int]]]:
    """In the worker: each chunk as leads sorted by number, the file's own checks done (DNC, consent, repeats);
    the rows refused on the way; how far into the file."""
    seen = SeenNumbers()
    for frame, refused in chunks:
        batch = prepare_frame(frame, header, region)
        ordered = LeadBatch(batch.leads.sort("phone_e164", maintain_order=True), batch.rejections)
        numbers = ordered.leads.get_column("phone_e164")
        result = sort_batch(ordered, seen=seen, dnc=writer.dnc.blocked(numbers), require_consent=writer.require_consent)
        seen = result.seen
        result = replace(result, counts=result.counts + ImportCounts(rejected=len(refused)))
        yield result, [*refused, *batch.rejections], source.position()


def in_background(items: Iterator[T], ahead: int = 1) -> Iterator[T]:
    """`items` made by a thread of their own, `ahead` in advance: reading and preparing the next batch
    (polars and numpy, which let go of the GIL) while this thread writes the last one to the database.

    At most `ahead` items wait or are in the making besides the one in use here, which bounds the memory.
    An error in the thread is raised here; stopping early (an error here) stops the thread at its next item.
    """
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue()
    slots = threading.Semaphore(ahead)
    stop = threading.Event()

    def make() -> None:
        try:
            while _wait(slots, stop):
                item = next(items, _END)
                if item is _END:
                    handoff.put(("done", None))
                    return
                handoff.put(("item", item))
        except BaseException as exc:  # handed to the consumer, which raises it
            handoff.put(("error", exc))

    worker = threading.Thread(target=make, name="lead-batches", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            slots.release()  # the worker may start the next item while this one is used
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


_END: Any = object()


def _wait(slots: threading.Semaphore, stop: threading.Event) -> bool:
    """A free slot (True), or the consumer stopped (False)."""
    while not stop.is_set():
        if slots.acquire(timeout=0.1):
            return True
    return False


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


def _header(source: LeadFile, mapping: Mapping[str, Field] | None, region: str) -> tuple[HeaderMap, int | None]:
    """The header map from the first record, and its line (None: the file has no header, that record is a lead)."""
    first = source.first_record()
    if first is None:
        raise LeadFileError(f"{source.path.name}: the file holds no rows")
    if isinstance(first, Rejection):
        raise LeadFileError(f"{source.path.name}: line {first.line}: the header row has {first.message}")
    line, cells = first
    try:
        header = map_headers(cells, mapping, is_phone=lambda c: is_phone(c, region), line=line)
    except LeadDataError as exc:
        raise LeadFileError(f"{source.path.name}: {exc}") from None
    return header, (line if header.has_header else None)


class _Digest:
    """The file's SHA-256 for the import record, computed beside the import (hashlib lets go of the GIL)."""

    def __init__(self, path: Path) -> None:
        self._digest = hashlib.sha256()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), name="lead-file-sha256", daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            with path.open("rb") as raw:
                for block in iter(lambda: raw.read(1 << 20), b""):
                    self._digest.update(block)
        except OSError as exc:
            self._error = exc

    def result(self) -> str | None:
        self._thread.join()
        return None if self._error else self._digest.hexdigest()
