"""The files where a number lands outside the store: queue_log, Asterisk's CDR and logs, recordings' names.

Log lines are masked in place, digit for digit (the file keeps its length, inode and every other byte): Asterisk
keeps its logs open and appends to them, and a copy renamed over the file would lose what it appends meanwhile.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from switchboard.config import Site
from switchboard.errors import PrivacyError
from switchboard.privacy.numbers import PersonNumber

# Compressed rotations (logrotate's compress): never appended to, so rewritten whole.
_COMPRESSED: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# Compressed files we cannot read: listed as unchecked, so nobody believes they were cleaned.
_UNREADABLE = (".zst", ".zip", ".7z", ".lz4")


@dataclass(frozen=True, slots=True)
class Places:
    """Where the platform and Asterisk write files about calls."""

    recordings: Path
    queue_log: Path
    asterisk_logs: Path | None  # Asterisk's astlogdir (the render folder's log/): messages, queue_log, cdr-csv/

    @classmethod
    def of_site(cls, site: Site, asterisk_logs: Path | None = None) -> Places:
        return cls(site.recordings_path, site.queue_log_path, asterisk_logs or site.asterisk_logs_path)

    def log_files(self) -> list[Path]:
        """Our queue_log and its rotations, and every file under Asterisk's log folder (CDR CSV, messages ...)."""
        found: set[Path] = set()
        if self.queue_log.parent.is_dir():
            found.update(p for p in self.queue_log.parent.glob(self.queue_log.name + "*") if p.is_file())
        if self.asterisk_logs is not None and self.asterisk_logs.is_dir():
            found.update(p for p in self.asterisk_logs.rglob("*") if p.is_file() and not p.is_symlink())
        return sorted(p for p in found if not p.name.endswith(_UNREADABLE))

    def unchecked(self) -> list[str]:
        """Places that could hold the number but were not looked at, for the report."""
        if self.asterisk_logs is None:
            missing = ["Asterisk's logs and CDR: no asterisk_logs folder in the site file (or --asterisk-logs)"]
        elif not self.asterisk_logs.is_dir():
            missing = [f"Asterisk's logs and CDR: {self.asterisk_logs} is not a folder"]
        else:
            missing = [
                f"{p}: a compressed file that cannot be read here"
                for p in sorted(self.asterisk_logs.rglob("*"))
                if p.is_file() and p.name.endswith(_UNREADABLE)
            ]
        return missing

    def recordings_named(self, number: PersonNumber) -> list[Path]:
        """Files in the recordings folder whose name holds the number (a dialplan may name them by caller)."""
        if not self.recordings.is_dir():
            return []
        return sorted(p for p in self.recordings.rglob("*") if p.is_file() and number.found_in(p.name))

    def is_recording(self, path: Path) -> bool:
        """Only files under the recordings folder are ever deleted, whatever a row says."""
        try:
            return path.resolve().is_relative_to(self.recordings.resolve())
        except OSError:
            return False


@dataclass(frozen=True, slots=True)
class Line:
    """A line holding the number: its file, its number (from 1), its text as read."""

    path: Path
    number: int
    text: str


def lines_with(path: Path, number: PersonNumber) -> Iterator[Line]:
    """Every line of `path` (plain or gzip) holding a shape of the number."""
    core = number.core.encode("ascii")
    with _open(path) as file:
        for index, raw in enumerate(file, start=1):
            if core in raw and number.byte_pattern.search(raw):
                yield Line(path, index, raw.rstrip(b"\r\n").decode("utf-8", "replace"))


def _opener(path: Path) -> Callable[..., Any] | None:
    return _COMPRESSED.get(path.suffix)


def _open(path: Path) -> IO[bytes]:
    opener = _opener(path)
    return cast(IO[bytes], opener(path, "rb")) if opener else path.open("rb")


def mask_file(path: Path, number: PersonNumber) -> int:
    """Mask every shape of the number in `path`; returns how many were masked (0: the file is unchanged)."""
    try:
        opener = _opener(path)
        return _mask_compressed(path, number, opener) if opener else mask_in_place(path, number)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise PrivacyError(f"{path}: could not mask the number ({exc}); fix this and run the erasure again") from exc


def mask_in_place(path: Path, number: PersonNumber) -> int:
    """Overwrite each shape of the number with '*' digits at its own offset, leaving every other byte alone.

    Safe while Asterisk appends: appends only add bytes at the end, and we only write over bytes already there,
    after checking (pread) they still are the number. A file truncated under us (copytruncate rotation) is left
    for the next run. The scan stops at the size the file had when it began: a line appended meanwhile is not seen.
    """
    core = number.core.encode("ascii")
    hits: list[tuple[int, bytes]] = []
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        offset = 0
        for raw in file:
            if offset >= size:
                break
            if core in raw:
                hits.extend((offset + m.start(), m.group()) for m in number.byte_pattern.finditer(raw))
            offset += len(raw)
    if not hits:
        return 0
    masked = 0
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        for at, old in hits:
            if os.pread(fd, len(old), at) == old:
                os.pwrite(fd, number.mask_bytes(old), at)
                masked += 1
        os.fsync(fd)
    finally:
        os.close(fd)
    return masked


def _mask_compressed(path: Path, number: PersonNumber, opener: Callable[..., Any]) -> int:
    """A compressed rotation is never appended to: written anew beside it, then renamed over it."""
    with opener(path, "rb") as file:
        data = file.read()
    count = len(number.byte_pattern.findall(data))
    if not count:
        return 0
    temporary = path.with_name(f".{path.name}.erasing")
    with opener(temporary, "wb") as out:
        out.write(number.mask_bytes(data))
    os.chmod(temporary, path.stat().st_mode & 0o777)
    os.replace(temporary, path)
    return count


def delete_file(path: Path) -> bool:
    """Remove a file; False when it was already gone."""
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
