"""Opening a lead file: XLSX through openpyxl, delimited text through the sniffed encoding and delimiter.

The records come with the line (or spreadsheet row) where each starts; bytes read so far drive a progress bar.
"""

from __future__ import annotations

import codecs
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dialer.leads.model import LeadDataError, Rejection
from dialer.leads.records import Record, cell_text, delimited_records
from dialer.leads.sniff import SAMPLE_BYTES, FileKind, decode_sample, file_kind, sniff_delimiter, sniff_encoding
from switchboard.errors import LeadFileError


@dataclass
class LeadFile:
    """An opened lead file: what it is, and its records in order."""

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

    def records(self) -> Iterator[Record | Rejection]:
        if self.kind is FileKind.XLSX:
            yield from self._xlsx_records()
        else:
            yield from self._text_records()

    def _text_records(self) -> Iterator[Record | Rejection]:
        assert self.encoding and self.delimiter
        with self.path.open("rb") as raw:
            self._stream = raw
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            line = 0
            try:
                for item in delimited_records(text, self.delimiter):
                    line = item.line if isinstance(item, Rejection) else item[0]
                    yield item
            except UnicodeDecodeError as exc:
                raise LeadFileError(
                    f"{self.path.name}: after line {line}: bytes that are not {self.encoding} "
                    f"({exc.reason}); save the file as UTF-8 or name its encoding with --encoding"
                ) from None

    def _xlsx_records(self) -> Iterator[Record | Rejection]:
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
                book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
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
        codecs.lookup(name)
    except LookupError:
        raise LeadDataError(f"--encoding {name!r}: not an encoding Python knows (e.g. utf-8, cp1251)") from None
    # A BOM is never a cell: 'utf-8' given by hand still reads past one.
    return "utf-8-sig" if codecs.lookup(name).name == "utf-8" else name
