"""What a lead file is, from its first bytes: XLSX or delimited text, its encoding, its delimiter.

Russian Excel saves CSV in Windows-1251 with semicolons; other tools write UTF-8, with or without a BOM.
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
from collections import Counter
from dataclasses import dataclass

from dialer.leads.model import LeadDataError

SAMPLE_BYTES = 1 << 20  # enough rows to tell the encoding and the delimiter, little enough to read twice
DELIMITERS = (";", ",", "\t", "|")  # the order breaks ties: Russian exports use ';' and their text has ','
_SAMPLE_RECORDS = 50


class FileKind(enum.Enum):
    DELIMITED = "delimited"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class TextFormat:
    encoding: str  # a Python codec name: utf-8-sig reads past a BOM
    delimiter: str


def file_kind(head: bytes) -> FileKind:
    """XLSX (a zip), or text; old binary Excel and other binaries are refused with a hint."""
    if head.startswith(b"PK\x03\x04"):
        return FileKind.XLSX
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise LeadDataError("this is an old Excel .xls file: save it as .xlsx or CSV")
    if b"\x00" in head[:4096] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LeadDataError("this is a binary file, not CSV or XLSX")
    return FileKind.DELIMITED


def sniff_encoding(sample: bytes, *, complete: bool = False) -> str:
    """UTF-8 (with or without a BOM) or UTF-16 when the bytes say so, else Windows-1251 (Russian Excel's).

    `complete` says the sample is the whole file; otherwise its last bytes may cut a character in two.
    Text that is UTF-8 but for a few damaged bytes stays UTF-8: the reader then names the line of the damage,
    where guessing Windows-1251 would turn every Cyrillic letter into nonsense.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=complete)
    damaged = text.count("\ufffd")
    letters = sum(1 for ch in text if ord(ch) > 127) - damaged
    if damaged == 0 or letters >= 10 * damaged:
        return "utf-8"
    try:
        sample.decode("cp1251")
    except UnicodeDecodeError as exc:
        if letters:
            return "utf-8"  # UTF-8 with damage: decoding it names the damaged line
        line = sample.count(b"\n", 0, exc.start) + 1
        raise LeadDataError(
            f"line {line}: the text is neither UTF-8 nor Windows-1251; name the encoding with --encoding"
        ) from None
    return "cp1251"


def decode_sample(sample: bytes, encoding: str) -> str:
    """The sample as text, a character cut at the end dropped; a bad byte raises LeadDataError with its offset."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        return str(decoder.decode(sample, final=False))
    except UnicodeDecodeError as exc:
        line = sample.count(b"\n", 0, exc.start) + 1
        raise LeadDataError(
            f"line {line}: byte {exc.start} is not valid {encoding}; save the file as UTF-8 or name its encoding "
            "with --encoding"
        ) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records into the same number (above one) of fields most often.

    A file of one column has no delimiter to find; ',' is as good as any then.
    """
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = _field_counts(text, delimiter)
        if not counts:
            continue
        width, often = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (often, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _field_counts(text: str, delimiter: str) -> list[int]:
    # The last record of a sample may be cut short, so it does not vote.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    counts: list[int] = []
    try:
        for cells in reader:
            if any(cells):
                counts.append(len(cells))
            if len(counts) > _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    return counts[:-1] if len(counts) > 1 else counts
