"""Call records and their recordings in the browser, for the roles allowed to hear them.

A recording is named only by its call record: the client sends a call id, never a path, and the path the record
holds is played only when its real location (symlinks and '..' resolved) lies inside the site's recordings folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse

from switchboard.config import Site
from switchboard.store.accounts import Account
from switchboard.store.schema import calls
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.pages import page, render
from switchboard.web.roles import RECORDINGS

router = APIRouter(tags=["recordings"])
Listener = Annotated[Account, Depends(require(*RECORDINGS))]  # who may hear recordings
ListenerPage = Annotated[Account, Depends(page(*RECORDINGS))]

MAX_CALLS = 500
AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}  # what MixMonitor may be told to write
NOT_FOUND = "no recording for this call"  # one answer for every refusal: it tells nothing of the disk


def recording_file(site: Site, stored: str | None) -> Path | None:
    """The recording a call record names, as a real path inside the recordings folder; None for anything else.

    A relative path is taken from the recordings folder. Refused: no path, a path that does not exist, one whose
    real location (after every symlink and '..') is outside the folder, a folder, or a file that is not audio.
    """
    if not stored:
        return None
    try:
        root = site.recordings_path.resolve(strict=True)
        candidate = Path(stored)
        real = (candidate if candidate.is_absolute() else root / candidate).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte
        return None
    if not real.is_relative_to(root) or not real.is_file() or real.suffix.lower() not in AUDIO_TYPES:
        return None
    return real


def _moment(name: str, text: str | None, end_of_day: bool) -> float | None:
    """`from`/`to` as YYYY-MM-DD (a whole day, server time), YYYY-MM-DDTHH:MM[:SS], or epoch seconds."""
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        if len(text) == 10:
            day = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
            return (day + dt.timedelta(days=1 if end_of_day else 0)).timestamp()
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} = {text!r}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or epoch"
        ) from None


def _row(site: Site, record: Any) -> dict[str, Any]:
    data = dict(record._mapping)
    stored = data.pop("recording")
    playable = recording_file(site, stored) is not None
    data["recording_url"] = f"/api/calls/{data['id']}/recording" if playable else None
    return data


@router.get("/api/calls")
def list_calls(
    request: Request,
    account: Listener,
    start: str | None = Query(None, alias="from", description="YYYY-MM-DD, YYYY-MM-DDTHH:MM or epoch seconds"),
    end: str | None = Query(None, alias="to", description="as from; a date includes that whole day"),
    queue: str | None = Query(None),
    operator: str | None = Query(None),
    limit: int = Query(100, ge=1, le=MAX_CALLS),
) -> dict[str, Any]:
    """Call records, newest first, with a `recording_url` when the recording can be played."""
    ctx: WebContext = request.app.state.ctx
    where = []
    since, until = _moment("from", start, False), _moment("to", end, True)
    if since is not None:
        where.append(calls.c.started_at >= since)
    if until is not None:
        where.append(calls.c.started_at < until)
    if queue:
        where.append(calls.c.queue == queue)
    if operator:
        where.append(calls.c.operator == operator)
    columns = [c for c in calls.c if c.name != "uniqueid"]  # Asterisk's channel id: of no use in the browser
    query = sa.select(*columns).where(*where).order_by(calls.c.started_at.desc()).limit(limit)
    with ctx.engine.connect() as conn:
        rows = [_row(ctx.site, record) for record in conn.execute(query)]
    return {"calls": rows, "count": len(rows), "limit": limit}


@router.get("/api/calls/{call_id}/recording", response_class=FileResponse)
def play_recording(call_id: str, request: Request, account: Listener) -> FileResponse:
    """The call's recording as audio, with Range support; 404 when the record names nothing playable."""
    ctx: WebContext = request.app.state.ctx
    with ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(calls.c.recording).where(calls.c.id == call_id)).scalar_one_or_none()
    path = recording_file(ctx.site, stored)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    if request.headers.get("range", "bytes=0-").startswith("bytes=0-"):  # the player's first request, not each seek
        ctx.accounts.audit(account.name, "recording.play", call_id, None, ctx.clock())
    return FileResponse(path, media_type=AUDIO_TYPES[path.suffix.lower()], filename=f"{call_id}{path.suffix.lower()}",
                        content_disposition_type="inline")  # fmt: skip


@router.get("/supervisor/calls", response_class=HTMLResponse)
def calls_page(request: Request, account: ListenerPage) -> HTMLResponse:
    ctx: WebContext = request.app.state.ctx
    return render(request, "supervisor_calls.html", account, queues=[q.name for q in ctx.site.queues])
