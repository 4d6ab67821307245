"""Lead lists and exports of the campaign manager's console: a CSV or XLSX upload imported in the background with
its progress and rejection report, the campaign's past imports, and its attempts, leads or report for spreadsheets.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from dialer.leads.phones import check_region
from switchboard.leads.importer import ImportOptions
from switchboard.store.campaign_console import import_history
from switchboard.store.campaign_report import campaign_report
from switchboard.web.app import WebContext
from switchboard.web.exports import (
    Table,
    attachment,
    attempts_table,
    csv_chunks,
    leads_table,
    report_table,
    xlsx_file,
)
from switchboard.web.routes.campaigns_base import Manager, context, stored_campaign
from switchboard.web.uploads import REJECTION_HEADER, ImportJob, ImportJobs, rejection_row

router = APIRouter(tags=["campaigns"])

JOBS_KEY = "campaigns.imports"
MAX_UPLOAD_BYTES = 1 << 30  # a list of several million rows; more is a mistake or an attack
_COPY_BLOCK = 1 << 20


def import_jobs(ctx: WebContext) -> ImportJobs:
    jobs = ctx.extras.get(JOBS_KEY)
    if jobs is None:
        jobs = ctx.extras[JOBS_KEY] = ImportJobs(ctx.engine, ctx.clock)
    assert isinstance(jobs, ImportJobs)
    return jobs


def _job(ctx: WebContext, job_id: str) -> ImportJob:
    job = import_jobs(ctx).get(job_id)
    if job is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"import {job_id!r}: not known to this console (finished imports are listed on the campaign's page)",
        )
    return job


def upload_name(name: str | None) -> str:
    """The uploaded file's own name (it becomes the list's name by default), without any folder or control
    character; a name that says nothing becomes leads.csv."""
    base = Path((name or "").replace("\\", "/")).name
    clean = "".join(ch for ch in base if ch.isprintable()).strip()[-200:]
    return clean if clean not in ("", ".", "..") else "leads.csv"


def _saved_upload(upload: UploadFile) -> Path:
    """The upload copied into a folder of its own (the import removes it); refused past MAX_UPLOAD_BYTES."""
    folder = Path(tempfile.mkdtemp(prefix="switchboard-upload-"))
    path = folder / upload_name(upload.filename)
    written = 0
    try:
        with path.open("wb") as out:
            while block := upload.file.read(_COPY_BLOCK):
                written += len(block)
                if written > MAX_UPLOAD_BYTES:
                    raise HTTPException(
                        status.HTTP_413_CONTENT_TOO_LARGE,
                        f"file {path.name!r}: larger than {MAX_UPLOAD_BYTES >> 20} MiB; split the list",
                    )
                out.write(block)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if written == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"file {path.name!r}: the file is empty")
    return path


@router.post("/api/campaigns/{campaign_id}/leads", status_code=status.HTTP_202_ACCEPTED)
def upload_leads(
    campaign_id: int,
    request: Request,
    account: Manager,
    file: Annotated[UploadFile, File(description="A lead list: CSV (comma, semicolon or tab) or XLSX")],
    list_name: Annotated[str | None, Form(max_length=200, description="The list (default: the file's name)")] = None,
    region: Annotated[str, Form(max_length=8, description="Where numbers without a country code are from")] = "RU",
) -> dict[str, Any]:
    """Start importing a lead list into the campaign (all rows or none, as `leads import`); poll the job."""
    ctx = context(request)
    campaign = stored_campaign(ctx, campaign_id)
    try:
        region = check_region(region)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"region: {exc}") from None
    path = _saved_upload(file)
    options = ImportOptions(campaign=campaign.name, list_name=(list_name or "").strip() or None, region=region)

    def finished(job: ImportJob) -> None:
        detail = job.as_json()
        detail.pop("rejections")
        ctx.accounts.audit(job.user, "leads.import", job.campaign, detail, ctx.clock())

    job = import_jobs(ctx).start(campaign.id, campaign.name, path, options, account.name, finished)
    return job.as_json() | {"status_url": f"/api/imports/{job.id}"}


@router.get("/api/imports/{job_id}")
def import_status(job_id: str, request: Request, account: Manager) -> dict[str, Any]:
    """How far the import is (bytes of a text file, rows of a spreadsheet), what became of the rows so far, and
    its state: running, done or failed (with the error; a failed import stored nothing)."""
    return _job(context(request), job_id).as_json()


@router.get("/api/imports/{job_id}/rejections.csv", response_class=StreamingResponse)
def import_rejections(job_id: str, request: Request, account: Manager) -> StreamingResponse:
    """The rows the import refused: line, field, value, reason (spreadsheet-safe)."""
    job = _job(context(request), job_id)
    if job.state == "running":
        raise HTTPException(status.HTTP_409_CONFLICT, f"import {job_id!r}: still running; its report comes at the end")
    table = Table("rejections", REJECTION_HEADER, (rejection_row(r) for r in job.rejections))
    disposition = attachment(Path(job.file_name).stem, "rejections", "csv")
    return StreamingResponse(
        csv_chunks(table), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


@router.get("/api/campaigns/{campaign_id}/imports")
def imports(campaign_id: int, request: Request, account: Manager) -> dict[str, Any]:
    """The campaign's finished imports (the lead_imports rows), and this console's own imports (running or done)."""
    ctx = context(request)
    stored_campaign(ctx, campaign_id)
    jobs = [job.as_json() for job in import_jobs(ctx).of_campaign(campaign_id)]
    return {"finished": import_history(ctx.engine, campaign_id), "jobs": jobs}


@router.get("/api/campaigns/{campaign_id}/export", response_model=None)
def export(
    campaign_id: int,
    request: Request,
    account: Manager,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
    what: Annotated[Literal["attempts", "leads", "report"], Query(description="What to export")] = "attempts",
) -> StreamingResponse | FileResponse:
    """The campaign's attempts, leads or report for a spreadsheet; text cells are spreadsheet-safe."""
    ctx = context(request)
    campaign = stored_campaign(ctx, campaign_id)
    zone = campaign.settings.default_zone
    if what == "attempts":
        table = attempts_table(ctx.engine, campaign.id, zone, ctx.site.recordings_path)
    elif what == "leads":
        table = leads_table(ctx.engine, campaign.id, zone)
    else:
        table = report_table(campaign_report(ctx.engine, campaign.name))
    ctx.accounts.audit(account.name, "campaign.export", campaign.name, {"what": what, "format": format}, ctx.clock())
    headers = {"Content-Disposition": attachment(campaign.name, what, format)}
    if format == "csv":
        return StreamingResponse(csv_chunks(table), media_type="text/csv; charset=utf-8", headers=headers)
    path = xlsx_file(table)
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
