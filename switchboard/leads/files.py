"""Opening a lead file: XLSX through openpyxl, delimited text through the sniffed encoding and delimiter.

Text is read in blocks that polars parses at once (dialer.leads.fast_csv); from the first block it will not take
(odd quoting, bare CR ...) to the end, the csv module reads on. Either way each row carries the line it starts on.
"""

from __future__ import annotations

import codecs
import io
import itertools
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from dialer.leads.batch import records_frame
from dialer.leads.fast_csv import read_block
from dialer.leads.model import LeadDataError, Rejection
from dialer.leads.records import Record, cell_text, delimited_records
from dialer.leads.sniff import SAMPLE_BYTES, FileKind, decode_sample, file_kind, sniff_delimiter, sniff_encoding
from switchboard.errors import LeadFileError

BLOCK_BYTES = 8 << 20  # about 40,000 to 80,000 rows of a typical list: one batch
FIRST_BLOCK_BYTES = 1 << 20  # a small first batch: the writer starts while the next big one is prepared
CHUNK_ROWS = 100_000  # rows per batch when the csv module or openpyxl reads
_FAST_ENCODINGS = ("utf-8", "utf-8-sig", "cp1251")  # polars reads UTF-8; Windows-1251 is recoded a block at a time
Chunk = tuple[pl.DataFrame, list[Rejection]]  # raw cells (line, c0 ..), and the rows refused while reading


@dataclass
class LeadFile:
    """An opened lead file: what it is, its first record, and its rows in chunks."""

    path: Path
    kind: FileKind
    encoding: str | None = None
    delimiter: str | None = None
    size: int = 0
    _stream: BinaryIO | None = None
    _rows_read: int = 0
    _rows_total: int = 0

    def position(self) -> tuple[int, int]:
        """(done, total) for a progress bar: bytes for text, rows for a spreadsheet."""
        if self.kind is FileKind.XLSX:
            return self._rows_read, max(self._rows_total, self._rows_read)
        return (self._stream.tell() if self._stream and not self._stream.closed else self.size), self.size

    def first_record(self) -> Record | Rejection | None:
        """The first non-blank record (the header, or the first lead of a file without one)."""
        if self.kind is FileKind.XLSX:
            return next(self._xlsx_records(), None)
        assert self.encoding and self.delimiter
        with self.path.open("rb") as raw:
            sample = decode_sample(raw.read(SAMPLE_BYTES), self.encoding)
        return next(delimited_records(io.StringIO(sample, newline=""), self.delimiter), None)

    def chunks(self, width: int, *, header_line: int | None) -> Iterator[Chunk]:
        """The file's rows, `width` cells each, but the header's (the record starting on `header_line`)."""
        if self.kind is FileKind.XLSX:
            items = (item for item in self._xlsx_records() if item[0] != header_line)
            yield from _record_chunks(items, width)
        else:
            yield from self._text_chunks(width, header_line)

    def _text_chunks(self, width: int, header_line: int | None) -> Iterator[Chunk]:
        assert self.encoding and self.delimiter
        with self.path.open("rb") as raw:
            self._stream = raw
            offset = 3 if self.encoding == "utf-8-sig" and raw.read(3) == codecs.BOM_UTF8 else 0
            raw.seek(offset)
            line, pending, want = 1, b"", min(FIRST_BLOCK_BYTES, BLOCK_BYTES)
            while self.encoding in _FAST_ENCODINGS:
                data = pending + raw.read(want)
                final = raw.tell() >= self.size
                utf8 = self._utf8(data)
                block = None if utf8 is None else read_block(utf8, self.delimiter, width, line, final=final)
                if utf8 is None or block is None:
                    break
                if block.consumed == 0 and not final:
                    pending, want = data, want * 2  # a record longer than the block: read more
                    continue
                frame = block.frame
                if header_line is not None and line <= header_line:
                    frame = frame.filter(pl.col("line") != header_line)
                used = self._source_bytes(utf8, block.consumed)
                line, offset, pending, want = line + block.lines, offset + used, data[used:], BLOCK_BYTES
                if frame.height:
                    yield frame, []
                if final and not pending:
                    return
            yield from self._csv_module_chunks(raw, offset, line, width, header_line)

    def _utf8(self, data: bytes) -> bytes | None:
        """The block as UTF-8 (None: it holds a byte the encoding lacks, and the csv module will say where)."""
        if self.encoding != "cp1251":
            return data
        try:
            return data.decode("cp1251").encode("utf-8")
        except UnicodeDecodeError:
            return None

    def _source_bytes(self, utf8: bytes, consumed: int) -> int:
        """How many bytes of the file `consumed` bytes of the UTF-8 block stand for (one a character in cp1251)."""
        if self.encoding != "cp1251":
            return consumed
        recoded = np.frombuffer(utf8, dtype=np.uint8, count=consumed)
        return int(np.count_nonzero((recoded & 0xC0) != 0x80))

    def _csv_module_chunks(
        self, raw: BinaryIO, offset: int, line: int, width: int, header_line: int | None
    ) -> Iterator[Chunk]:
        assert self.encoding and self.delimiter
        raw.seek(offset)
        encoding = "utf-8" if self.encoding == "utf-8-sig" and offset > 0 else self.encoding
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        records = delimited_records(text, self.delimiter, first_line=line)
        items = (item for item in records if isinstance(item, Rejection) or item[0] != header_line)
        try:
            yield from _record_chunks(items, width)
        except UnicodeDecodeError as exc:
            raise LeadFileError(
                f"{self.path.name}: bytes that are not {self.encoding} ({exc.reason}) after line {line}; "
                "save the file as UTF-8 or name its encoding with --encoding"
            ) from None
        finally:
            text.detach()

    def _xlsx_records(self) -> Iterator[Record]:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
                # A file object, not the path: openpyxl refuses names not ending in .xlsx even when the bytes are one.
                book = openpyxl.load_workbook(io.BytesIO(self.path.read_bytes()), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
            raise LeadFileError(f"{self.path.name}: not a readable XLSX file ({exc})") from None
        try:
            sheet = book.worksheets[0]
            self._rows_total = sheet.max_row or 0
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                self._rows_read = number
                cells = [cell_text(value) for value in row]
                if any(cells):
                    yield (number, cells)
        finally:
            book.close()


def _record_chunks(items: Iterable[Record | Rejection], width: int) -> Iterator[Chunk]:
    """Records as frames of CHUNK_ROWS, with the broken ones (and rows with too many cells) as rejections."""
    items = iter(items)
    while True:
        batch = list(itertools.islice(items, CHUNK_ROWS))
        if not batch:
            return
        records = [item for item in batch if not isinstance(item, Rejection)]
        refused = [item for item in batch if isinstance(item, Rejection)]
        frame, too_wide = records_frame(records, width)
        yield frame, refused + too_wide


def open_lead_file(path: Path, encoding: str | None = None) -> LeadFile:
    """What the file is, from its first bytes; a file that cannot be a lead list raises LeadFileError."""
    try:
        size = path.stat().st_size
        with path.open("rb") as raw:
            head = raw.read(SAMPLE_BYTES)
    except OSError as exc:
        raise LeadFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        kind = file_kind(head)
        if kind is FileKind.XLSX:
            return LeadFile(path, kind, size=size)
        if encoding is not None:
            encoding = _known_encoding(encoding)
        else:
            encoding = sniff_encoding(head, complete=size <= len(head))
        sample = decode_sample(head, encoding)
    except LeadDataError as exc:
        raise LeadFileError(f"{path.name}: {exc}") from None
    return LeadFile(path, kind, encoding, sniff_delimiter(sample), size)


def _known_encoding(name: str) -> str:
    try:
        found = codecs.lookup(name).name
    except LookupError:
        raise LeadDataError(f"--encoding {name!r}: not an encoding Python knows (e.g. utf-8, cp1251)") from None
    # A BOM is never a cell: 'utf-8' given by hand still reads past one.
    return "utf-8-sig" if found == "utf-8" else found
