"""A campaign's exports for spreadsheets: its attempts, its leads or its report, as CSV (streamed) or XLSX.

Every text cell goes through the lead code's `spreadsheet_safe` (a leading quote before '=', '+', '-', '@', tab or
CR): a lead named "=HYPERLINK(...)" must not run when a manager opens the file. Numbers are written as they are
stored (managers may see them); a recording is named by its path inside the recordings folder, never outside it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dialer.campaigns.hours import zone
from dialer.leads.text import spreadsheet_safe
from switchboard.store.schema import attempts, dispositions, lead_lists, leads, refusal_reasons

FORMATS = ("csv", "xlsx")
KINDS = ("attempts", "leads", "report")
_ROWS_A_FETCH = 2000
_CSV_ROWS_A_CHUNK = 500


@dataclass
class Table:
    """What one export holds: a title, the header and the rows (a generator for the big ones)."""

    title: str
    header: list[str]
    rows: Iterable[Sequence[object]]


def safe_row(values: Iterable[object]) -> list[object]:
    """Cells as a spreadsheet should show them: formula-like text neutralised, lists and tables as JSON text."""
    cells: list[object] = []
    for value in values:
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        cells.append(spreadsheet_safe(value))
    return cells


def csv_chunks(table: Table) -> Iterator[bytes]:
    """The table as UTF-8 CSV with a BOM (Excel then reads Cyrillic right), a few hundred rows a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(safe_row(table.header))
    for number, row in enumerate(table.rows, start=1):
        writer.writerow(safe_row(row))
        if number % _CSV_ROWS_A_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_file(table: Table) -> Path:
    """The table as an XLSX workbook in a temporary file (the caller deletes it once sent)."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: object) -> object:
        # XML cannot carry most control characters: openpyxl refuses them, so they are dropped.
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title=table.title[:31])
    sheet.append([cell(v) for v in safe_row(table.header)])
    for row in table.rows:
        sheet.append([cell(v) for v in safe_row(row)])
    handle, name = tempfile.mkstemp(prefix="switchboard-export-", suffix=".xlsx")
    os.close(handle)
    book.save(name)
    return Path(name)


def attachment(campaign: str, kind: str, fmt: str) -> str:
    """A Content-Disposition naming the file after the campaign (ASCII fallback, RFC 5987 for the real name)."""
    name = f"{campaign}-{kind}.{fmt}"
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name)}"


def _clock(zone_name: str) -> Callable[[float | None], str | None]:
    tz = zone(zone_name)
    return lambda at: None if at is None else dt.datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M:%S")


def recording_inside(path: str | None, folder: Path) -> str | None:
    """The recording's path within the recordings folder; nothing for a path that leads outside it."""
    if not path:
        return None
    full = Path(path) if Path(path).is_absolute() else folder / path
    normal = Path(os.path.normpath(full))
    root = Path(os.path.normpath(folder))
    return str(normal.relative_to(root)) if normal.is_relative_to(root) and normal != root else None


def _streamed(engine: Engine, query: sa.Select[Any]) -> Iterator[Any]:
    """The query's rows a fetch at a time: a million-lead export never sits in memory at once."""
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_ROWS_A_FETCH).execute(query)
        yield from result


def attempts_table(engine: Engine, campaign_id: int, zone_name: str, recordings: Path) -> Table:
    when = _clock(zone_name)
    query = (
        sa.select(
            attempts,
            leads.c.full_name,
            lead_lists.c.name.label("list_name"),
            dispositions.c.code.label("disposition"),
            refusal_reasons.c.code.label("refusal_reason"),
        )
        .join(leads, leads.c.id == attempts.c.lead_id)
        .join(lead_lists, lead_lists.c.id == leads.c.list_id)
        .outerjoin(dispositions, dispositions.c.id == attempts.c.disposition_id)
        .outerjoin(refusal_reasons, refusal_reasons.c.id == attempts.c.refusal_reason_id)
        .where(attempts.c.campaign_id == campaign_id)
        .order_by(attempts.c.id)
    )
    header = [
        "attempt", "lead", "list", "phone", "full_name", f"started ({zone_name})", f"answered ({zone_name})",
        f"ended ({zone_name})", "result", "abandoned", "operator", "wait_s", "talk_s", "disposition",
        "refusal_reason", "note", "score", "order_form", "survey", "recording",
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for r in _streamed(engine, query):
            yield [
                r.id, r.lead_id, r.list_name, r.phone_e164, r.full_name, when(r.started_at), when(r.answered_at),
                when(r.ended_at), r.result, bool(r.abandoned), r.operator, r.wait_s, r.talk_s, r.disposition,
                r.refusal_reason, r.note, r.score, r.order_form, r.survey, recording_inside(r.recording, recordings),
            ]  # fmt: skip

    return Table("attempts", header, rows())


def leads_table(engine: Engine, campaign_id: int, zone_name: str) -> Table:
    when = _clock(zone_name)
    query = (
        sa.select(leads, lead_lists.c.name.label("list_name"))
        .join(lead_lists, lead_lists.c.id == leads.c.list_id)
        .where(leads.c.campaign_id == campaign_id)
        .order_by(leads.c.id)
    )
    header = [
        "lead", "list", "source_line", "phone", "alt_phones", "full_name", "first_name", "last_name", "middle_name",
        "email", "address", "city", "region", "time_zones", "consent", "status", "attempts", "last_result",
        f"last_attempt ({zone_name})", f"next_attempt ({zone_name})", "custom",
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for r in _streamed(engine, query):
            yield [
                r.id, r.list_name, r.source_line, r.phone_e164, ", ".join(r.alt_phones or []), r.full_name,
                r.first_name, r.last_name, r.middle_name, r.email, r.address, r.city, r.region,
                ", ".join(r.time_zones or []), r.consent, r.status, r.attempts, r.last_result,
                when(r.last_attempt_at), when(r.next_attempt_at), r.custom or None,
            ]  # fmt: skip

    return Table("leads", header, rows())


def report_table(report: dict[str, Any]) -> Table:
    """`campaign report` in long form: one figure a row (section, item, figure, value), easy to pivot."""
    rows: list[list[object]] = []
    rows += _scope_rows("campaign", "", report["totals"])
    for lst in report["lists"]:
        rows += _scope_rows("list", lst["name"], lst)
    for op in report["operators"]:
        rows += [["operator", op["operator"], k, v] for k, v in op.items() if k != "operator"]
    for hour in report["hours"]:
        rows += [["hour", f"{hour['hour']:02d}:00", k, v] for k, v in hour.items() if k != "hour"]
    return Table("report", ["section", "item", "figure", "value"], rows)


def _scope_rows(section: str, item: str, figures: dict[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for key in ("leads", "attempts", "answered", "contacts", "sales", "conversion", "talk_s"):
        rows.append([section, item, key, figures[key]])
    prefix = f"{item} / " if item else ""
    for group in ("leads_by_status", "outcomes", "dispositions"):
        rows += [[f"{section} {group}", prefix + k, "count", v] for k, v in figures[group].items()]
    for reason in figures["refusals"]["reasons"]:
        name = prefix + reason["code"]
        rows += [[f"{section} refusal_reasons", name, "count", reason["count"]]]
        rows += [[f"{section} refusal_reasons", name, "share", reason["share"]]]
    return rows
