"""The records of a delimited file, each with the line where it starts; spreadsheet cells as text.

A broken quote rejects the record where it starts and reading goes on at the next line, so one stray
quote does not swallow the rest of the file.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator

from dialer.leads.model import Reason, Rejection

Record = tuple[int, list[str]]  # (line where the record starts, its cells): a tuple, since there are millions
# A quoted value over this many lines is a quote left open, not an address with line breaks.
MAX_RECORD_LINES = 20
# csv's own field limit (128 KiB) bounds how far an open quote reads; the replay buffer must hold that many lines.
_REPLAY_LINES = csv.field_size_limit() + 2


class _Lines:
    """The file's lines with a memory of the last ones, so lines read into a broken record can be read again."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.recent: deque[str] = deque(maxlen=_REPLAY_LINES)
        self.replay: deque[str] = deque()
        self._source = iter(lines)

    def __iter__(self) -> Iterator[str]:
        recent, replay = self.recent, self.replay
        for line in self._source:
            while replay:
                again = replay.popleft()
                recent.append(again)
                yield again
            recent.append(line)
            yield line
        while replay:
            again = replay.popleft()
            recent.append(again)
            yield again

    def read_again(self, count: int) -> None:
        """The last `count` lines come again, in order, before any new one."""
        if count > 0:
            again = list(self.recent)[-count:]
            for _ in range(min(count, len(self.recent))):
                self.recent.pop()
            self.replay.extendleft(reversed(again))


def delimited_records(lines: Iterable[str], delimiter: str, first_line: int = 1) -> Iterator[Record | Rejection]:
    """Each record with its starting line (`first_line` for the first), or a Rejection where the quoting is broken.

    `lines` keep their line endings (a text file opened with newline=""). Blank lines are skipped.
    """
    source = _Lines(lines)
    base = first_line - 1  # lines before the current reader's first line
    while True:
        # A new pass over the lines for each reader: the last one may have ended at the end of the file.
        reader = csv.reader(iter(source), delimiter=delimiter, strict=True)
        done = 0
        try:
            for cells in reader:
                end = reader.line_num
                if end - done > MAX_RECORD_LINES:
                    yield _broken(base + done + 1, f"a quoted value runs over {end - done} lines")
                    source.read_again(end - done - 1)
                    base += done + 1
                    break
                if cells:
                    yield (base + done + 1, cells)
                done = end
            else:
                return
        except csv.Error as exc:
            end = reader.line_num
            yield _broken(base + done + 1, _explain(exc))
            source.read_again(end - done - 1)
            base += done + 1


def _explain(exc: csv.Error) -> str:
    text = str(exc)
    if "expected after" in text:
        return "text follows a closing quote"
    if "end of data" in text:
        return "a quote is never closed"
    if "field larger" in text:
        return "a quoted value never ends"
    return text


def _broken(line: int, detail: str) -> Rejection:
    return Rejection(line, Reason.BROKEN_QUOTING, detail)


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person sees: whole numbers without '.0' (phone numbers stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
