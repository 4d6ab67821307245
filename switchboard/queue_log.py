"""Appends Asterisk-format queue_log lines to the file the reporting tools read, and reads them back.

The lines come from acd.queue_log; this module only owns the file: one write per line, O_APPEND, rotation-aware.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from acd.queue_log import QueueLogEntry, QueueLogError, format_line, parse_line

# Asterisk writes bytes as it got them; surrogateescape lets us read and rewrite any byte without loss.
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"
# The same open as Asterisk's fopen(path, "a"): create if missing, permissions 0666 minus the umask.
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_MODE = 0o666


class QueueLogWriter:
    """Appends queue_log lines to `path`, each with a single write(2) on an O_APPEND descriptor.

    O_APPEND makes every write land at the end of the file as one piece, so our lines and Asterisk's own (its
    logger also does one fflush per line on a file opened "a") never interleave mid-line. Nothing is buffered:
    a line is on disk, as far as the kernel is concerned, when append() returns. When the file is rotated
    (renamed or removed under us, as `logger rotate` does), the next append reopens `path`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._closed = False

    def append(self, entry: QueueLogEntry) -> None:
        """Write one entry as one line, newline included, in one write."""
        if self._closed:
            raise ValueError(f"{self._path}: the queue_log writer is closed")
        data = (format_line(entry) + "\n").encode(_ENCODING, _ERRORS)
        fd = self._current_fd()
        written = os.write(fd, data)
        # A regular file only takes part of a write when the disk is full or a limit is hit; finishing it
        # keeps the line whole for us, though another appender may then have slipped in between.
        while written < len(data):
            written += os.write(fd, data[written:])

    def close(self) -> None:
        """Close the file; appending afterwards is an error. Closing twice is harmless."""
        self._closed = True
        self._drop_fd()

    def __enter__(self) -> QueueLogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _current_fd(self) -> int:
        """Our descriptor, reopened when `path` no longer names the file we hold (rotated or deleted)."""
        try:
            stat = os.stat(self._path)
            identity: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            identity = None
        if self._fd is None or identity != self._identity:
            self._drop_fd()
            fd = os.open(self._path, _FLAGS, _MODE)
            held = os.fstat(fd)
            self._fd, self._identity = fd, (held.st_dev, held.st_ino)
        return self._fd

    def _drop_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._identity = None, None


def read_entries(path: str | os.PathLike[str]) -> list[QueueLogEntry]:
    """Every entry in a queue_log file, in file order; blank lines are skipped.

    Lines are split on LF only (never on the other characters str.splitlines() honours), as Asterisk ends them.
    A line that cannot be read raises QueueLogError naming the file and the line number.
    """
    entries: list[QueueLogEntry] = []
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            line = raw.decode(_ENCODING, _ERRORS).removesuffix("\n")
            if not line:
                continue
            try:
                entries.append(parse_line(line))
            except QueueLogError as exc:
                raise QueueLogError(f"{os.fspath(path)}:{number}: {exc}") from exc
    return entries


def sessions_from_queue_log(entries: Iterable[QueueLogEntry]) -> dict[str, tuple[bool, str | None]]:
    """Each operator's last known (logged in, pause reason) from member lines, in file order."""
    sessions: dict[str, tuple[bool, str | None]] = {}
    for entry in entries:
        logged_in, paused = sessions.get(entry.agent, (False, None))
        if entry.event == "ADDMEMBER":
            sessions[entry.agent] = (True, paused)
        elif entry.event == "REMOVEMEMBER":
            sessions[entry.agent] = (False, None)
        elif entry.event in ("PAUSE", "PAUSEALL"):
            sessions[entry.agent] = (logged_in, entry.data[0] if entry.data and entry.data[0] else "paused")
        elif entry.event in ("UNPAUSE", "UNPAUSEALL"):
            sessions[entry.agent] = (logged_in, None)
    return sessions
