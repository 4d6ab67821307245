"""Delimited text in bulk: polars parses a block of UTF-8 bytes, numpy finds the line where each record starts.

Only blocks the csv module would read the same way are taken (quotes only around whole values, no bare CR, no NUL,
no record over csv's limits); for any other block `read_block` returns None and the caller reads on with `records`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from dialer.leads.records import MAX_RECORD_LINES

_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")
_FIELD_LIMIT = 131072  # csv.field_size_limit()'s default: a longer record goes to the csv module, which refuses it


@dataclass(frozen=True, slots=True)
class Block:
    """One parsed block: `frame` holds line, c0 .. c{width-1} (null for an empty value)."""

    frame: pl.DataFrame
    consumed: int  # bytes of the data read: the next block starts there
    lines: int  # line breaks in those bytes: the next block starts that many lines further


def read_block(data: bytes, delimiter: str, width: int, first_line: int, *, final: bool) -> Block | None:
    """The records of `data` (UTF-8, starting at a record), up to its last record end unless `final`.

    None when the block is not simple; a Block with consumed == 0 when no record ends in `data` (read more).
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size == 0 or not buffer.all():  # empty, or a NUL somewhere
        return _empty(width) if buffer.size == 0 else None
    quotes = np.flatnonzero(buffer == _QUOTE)
    breaks = np.flatnonzero(buffer == _LF)
    ends = np.searchsorted(quotes, breaks) % 2 == 0  # a line break outside quotes ends a record
    if not final:
        if not ends.any():
            return _empty(width)
        last = int(np.flatnonzero(ends)[-1])
        size = int(breaks[last]) + 1
        buffer, breaks, ends = buffer[:size], breaks[: last + 1], ends[: last + 1]
        quotes = quotes[: np.searchsorted(quotes, size)]
    if not _simple(buffer, quotes, ord(delimiter)):
        return None
    starts = _start_lines(breaks, ends, buffer.size)
    lines = int(breaks.size) + (0 if buffer[-1] == _LF else 1)
    if starts.size and int(np.diff(np.append(starts, lines)).max()) > MAX_RECORD_LINES:
        return None
    offsets = np.concatenate(([0], breaks[ends] + 1))
    if int(np.diff(np.append(offsets, buffer.size)).max()) > _FIELD_LIMIT:
        return None
    frame = _parse(data[: buffer.size], delimiter, width)
    if frame is None or frame.height != starts.size:
        return None
    numbered = frame.with_columns(line=pl.Series(starts + first_line, dtype=pl.Int64)).select("line", *frame.columns)
    return Block(numbered, int(buffer.size), int(breaks.size))


def _empty(width: int) -> Block:
    return Block(pl.DataFrame(schema={"line": pl.Int64, **_schema(width)}), 0, 0)


def _schema(width: int) -> dict[str, type[pl.DataType]]:
    return {f"c{i}": pl.String for i in range(width)}


def _start_lines(breaks: npt.NDArray[np.intp], ends: npt.NDArray[np.bool_], size: int) -> npt.NDArray[np.int64]:
    """The 0-based line of each record's start: the first, and one past every record-ending break but the last."""
    after = np.flatnonzero(ends) + 1
    if breaks.size and ends[-1] and breaks[-1] == size - 1:
        after = after[:-1]  # the data ends with that break: no record after it
    return np.concatenate(([0], after)).astype(np.int64)


def _simple(buffer: npt.NDArray[np.uint8], quotes: npt.NDArray[np.intp], delimiter: int) -> bool:
    """Quotes only around whole values (and doubled inside them); line ends LF or CRLF."""
    returns = np.flatnonzero(buffer == _CR)
    if returns.size and (returns[-1] == buffer.size - 1 or (buffer[returns + 1] != _LF).any()):
        return False
    if quotes.size == 0:
        return True
    if quotes.size % 2:
        return False  # a quote never closed
    opening, closing = quotes[0::2], quotes[1::2]
    before = buffer[np.maximum(opening - 1, 0)]
    # An opening quote right after a closing one is the second half of a doubled quote inside a value.
    doubled = np.concatenate(([False], closing[:-1] == opening[1:] - 1))
    opens_ok = (opening == 0) | (before == delimiter) | (before == _LF) | doubled
    after = buffer[np.minimum(closing + 1, buffer.size - 1)]
    at_end = closing == buffer.size - 1
    closes_ok = at_end | (after == delimiter) | (after == _LF) | (after == _CR) | (after == _QUOTE)
    return bool(opens_ok.all() and closes_ok.all())


def _parse(data: bytes, delimiter: str, width: int) -> pl.DataFrame | None:
    """polars' reader, every value text; None when it finds more fields than the header or bad UTF-8."""
    try:
        return pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            separator=delimiter,
            quote_char='"',
            schema=_schema(width),
            missing_columns="insert",
            encoding="utf8",
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.NoDataError):
        return None
