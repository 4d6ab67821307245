"""Lead lists uploaded through the console: each import runs in a thread of the console process, through the same
code as `switchboard leads import` (one transaction: all rows or none; a number already in the campaign is a
duplicate, so uploading a file twice adds nothing), while the page polls its progress.

Jobs live in this process's memory (the rejected lines with them, for the downloadable report); every finished
import is also a lead_imports row, which the campaign page lists.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from dialer.leads.model import ImportCounts, Rejection
from dialer.leads.sniff import FileKind, file_kind
from switchboard.errors import SwitchboardError
from switchboard.leads.importer import ImportOptions, ImportReport, import_leads

log = logging.getLogger("switchboard.web.uploads")
KEEP_JOBS = 50  # finished jobs kept in memory (the oldest go first); running ones are always kept
SHOWN_REJECTIONS = 20  # in the status answer; the CSV has them all
# A rejection's detail names the column first: "'Телефон' = '12ab'", "column 3 = 'x'", "'ФИО' has 300 characters".
_DETAIL = re.compile(r"^(?P<field>'[^']*'|\"[^\"]*\"|column \d+)(?: = '(?P<value>.*)'$|\s)", re.DOTALL)
REJECTION_HEADER = ["line", "field", "value", "reason"]


def rejection_row(rejection: Rejection) -> list[object]:
    """A refused row as the report lists it: its line, the column and value at fault (when one is), and why."""
    found = _DETAIL.match(rejection.detail)
    field_name = value = None
    if found:
        field_name = found["field"]
        if field_name[0] in "'\"":
            field_name = field_name[1:-1]
        value = found["value"]
    return [rejection.line, field_name, value, rejection.message]


@dataclass
class ImportJob:
    """One upload's import, as the page follows it."""

    id: str
    campaign_id: int
    campaign: str
    file_name: str
    list_name: str
    user: str
    started_at: float
    unit: str  # what `done` and `total` count: bytes of a text file, rows of a spreadsheet
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    counts: ImportCounts = field(default_factory=ImportCounts)
    rejections: tuple[Rejection, ...] = ()
    error: str | None = None
    finished_at: float | None = None
    seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "job": self.id,
            "campaign_id": self.campaign_id,
            "campaign": self.campaign,
            "file_name": self.file_name,
            "list_name": self.list_name,
            "state": self.state,
            "unit": self.unit,
            "done": self.done,
            "total": self.total,
            "rows": c.rows,
            "accepted": c.imported,
            "rejected": c.rejected,
            "duplicates": c.duplicates,
            "dnc": c.dnc,
            "no_consent": c.no_consent,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "rejections": [
                dict(zip(REJECTION_HEADER, rejection_row(r), strict=True)) for r in self.rejections[:SHOWN_REJECTIONS]
            ],
            "rejections_url": f"/api/imports/{self.id}/rejections.csv",
        }


Finished = Callable[[ImportJob], None]


class ImportJobs:
    """The console's lead imports: started in threads, followed by id."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.clock = engine, clock
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> ImportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def of_campaign(self, campaign_id: int) -> list[ImportJob]:
        """This console's imports into the campaign, newest first (running ones and the last finished)."""
        with self._lock:
            return [j for j in reversed(self._jobs.values()) if j.campaign_id == campaign_id]

    def start(
        self, campaign_id: int, campaign: str, upload: Path, options: ImportOptions, user: str, finished: Finished
    ) -> ImportJob:
        """Import `upload` (a file in a folder of its own, removed afterwards) in a thread; the job at once."""
        with upload.open("rb") as raw:
            kind = file_kind(raw.read(8))
        job = ImportJob(
            id=secrets.token_urlsafe(12),
            campaign_id=campaign_id,
            campaign=campaign,
            file_name=upload.name,
            list_name=options.list_name or upload.name,
            user=user,
            started_at=self.clock(),
            unit="rows" if kind is FileKind.XLSX else "bytes",
            total=0 if kind is FileKind.XLSX else upload.stat().st_size,
        )
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        thread = threading.Thread(
            target=self._run, args=(job, upload, options, finished), name=f"lead-import-{job.id}", daemon=True
        )
        thread.start()
        return job

    def _run(self, job: ImportJob, upload: Path, options: ImportOptions, finished: Finished) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def counted(counts: ImportCounts) -> None:
            job.counts = counts

        try:
            report = import_leads(self.engine, upload, options, progress=progress, counted=counted, clock=self.clock)
            self._done(job, report)
        except SwitchboardError as exc:  # the file, the mapping or the store refused: nothing was stored
            self._failed(job, str(exc))
        except Exception as exc:
            log.exception("lead import %s of %s failed", job.id, job.file_name)
            self._failed(job, f"the import stopped on an unexpected error ({type(exc).__name__}); nothing was stored")
        finally:
            shutil.rmtree(upload.parent, ignore_errors=True)
        try:
            finished(job)
        except Exception:
            log.exception("lead import %s: the after-import step failed", job.id)

    def _done(self, job: ImportJob, report: ImportReport) -> None:
        with self._lock:
            job.counts, job.rejections = report.counts, report.errors
            job.list_name = report.list_name
            job.done = job.total = max(job.total, job.done)
            job.seconds = round(report.seconds, 3)
            job.finished_at = self.clock()
            job.state = "done"

    def _failed(self, job: ImportJob, error: str) -> None:
        with self._lock:
            job.error, job.finished_at, job.state = error, self.clock(), "failed"
            job.counts = ImportCounts()  # nothing of the file is in the store

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.state != "running"]
        for key in finished[: max(0, len(finished) - KEEP_JOBS)]:
            del self._jobs[key]
